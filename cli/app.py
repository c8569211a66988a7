"""The typer app object and what every command shares: options, opening a vault, warnings."""

from __future__ import annotations

from typing import Annotated

import typer
from lkvault.vault import Snapshot, Vault, version

from . import config, render

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ACCESS = 3

app = typer.Typer(
    name="lkvault",
    help=(
        "Keep every LinkedIn data export you ever downloaded: encrypted, deduplicated, "
        "restorable byte for byte."
    ),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

VaultOption = Annotated[
    str | None,
    typer.Option(
        "--vault",
        help=(
            "Vault location: a folder, s3://bucket/prefix or sftp://user@host[:port]/path. "
            "Default: $LKVAULT_VAULT, else your data folder."
        ),
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout instead of text.")
]


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"lkvault {version()}")
        raise typer.Exit()


@app.callback()
def _common_options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print lkvault's version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    pass


def open_vault(vault_option: str | None) -> Vault:
    location = config.vault_location(vault_option)
    backend = config.backend_for(location)
    return Vault.open(backend, config.passphrase(), config.environment())


def warn_rollback(vault: Vault, snapshots: list[Snapshot]) -> None:
    warning = vault.rollback_warning(snapshots)
    if warning:
        render.warning_line(f"{warning}; run 'lkvault verify'")


def print_warnings(vault: Vault) -> None:
    """Damage noticed on the way (e.g. an unreadable snapshot record), one line each."""
    for warning in vault.warnings:
        render.warning_line(warning)
