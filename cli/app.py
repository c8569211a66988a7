"""The typer app object and what every command shares: options, opening a vault, warnings."""

from __future__ import annotations

import contextlib
import functools
import shlex
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from lkvault.vault import AccessDenied, Backend, VaultNotFound
from typer.core import TyperArgument, TyperOption

from . import config, render

if TYPE_CHECKING:
    from lkvault.vault import Snapshot, Vault


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ACCESS = 3

app = typer.Typer(
    name="lkvault",
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help, as other command-line tools print it: paragraphs re-wrapped to the terminal
    # (at most 80 columns), and no <bool>/<str> type placeholders.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 80},
)


CommandT = TypeVar("CommandT")
WorkT = TypeVar("WorkT")


def _no_type(ctx: object) -> None:
    return None


def native_help(command: CommandT) -> CommandT:
    """Help as other command-line tools print it: an option's value named by a metavar
    (--vault LOCATION, not <str>), arguments without a type (SNAPSHOT, not {snapshot} <str>),
    and a flag without its --no- twin and '[default: no-force]'. Applied to every command."""
    for param in getattr(command, "params", []):
        if isinstance(param, TyperArgument):
            label = param.metavar or (param.name or "").upper()
            param.metavar = label
            usage = label if param.required or label.startswith("[") else f"[{label}]"
            # Instance attributes win over typer's methods: no type in the help, and the
            # name alone in the usage line.
            overrides = vars(param)
            overrides["display_type_rich"] = _no_type
            overrides["_usage_display_name"] = functools.partial(str, usage)
        elif isinstance(param, TyperOption):
            if param.is_flag:
                if param.secondary_opts and param.default is False:
                    param.secondary_opts = []
                param.show_default = False
            elif param.metavar is None:
                param.metavar = (param.name or "value").upper()
    for sub in getattr(command, "commands", {}).values():
        native_help(sub)
    return command


VaultOption = Annotated[
    str | None,
    typer.Option(
        "--vault",
        metavar="LOCATION",
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
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Only show what would be done; change nothing.")
]


def _print_version(wanted: bool) -> None:
    if wanted:  # runs for every command: the package metadata is read only when asked for
        from lkvault.vault import version

        typer.echo(f"lkvault {version()}")
        raise typer.Exit()


@app.callback()
def _common_options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Print lkvault's version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Keep every LinkedIn data export you ever downloaded: encrypted, deduplicated,
    restorable byte for byte.

    Start with 'lkvault init', then 'lkvault snapshot EXPORT.zip'; 'lkvault COMMAND -h' explains
    each command.
    """


def open_vault(vault_option: str | None) -> Vault:
    location = config.vault_location(vault_option)
    backend = config.backend_for(location)
    with _said_where(location, vault_option):
        return _open_with_attempts(backend)


def open_vault_while(
    vault_option: str | None, work: Callable[[Callable[[], bool]], WorkT]
) -> tuple[Vault, WorkT]:
    """Open the vault while ``work``, which needs no keys, runs in this thread: the key
    derivation (Argon2id, about 0.2 s) runs on another one, and a command waits for the
    longer of the two instead of both.

    ``work`` is given a function telling whether the vault is open by now (it may stop what
    is only worth doing meanwhile). Errors come as they would one after the other: the
    vault's first (a wrong passphrase is asked for again at a terminal), then the work's.
    A signal stops both at once.
    """
    from lkvault.vault import Vault

    location = config.vault_location(vault_option)
    backend = config.backend_for(location)
    with _said_where(location, vault_option):
        opening = Vault.opening(backend, config.passphrase(), config.environment())
        try:
            done = work(opening.done)
        except Exception:
            _open_with_attempts(backend, opening.result)  # the vault's error comes first
            raise
        return _open_with_attempts(backend, opening.result), done


@contextlib.contextmanager
def _said_where(location: str, vault_option: str | None) -> Iterator[None]:
    """A vault missing at --vault LOCATION says how to create one there."""
    try:
        yield
    except VaultNotFound:
        if vault_option is None:
            raise
        raise VaultNotFound(
            f"no vault at {location} (create one with "
            f"'lkvault init --vault {shlex.quote(location)}')"
        ) from None


def _open_with_attempts(backend: Backend, first: Callable[[], Vault] | None = None) -> Vault:
    """Open the vault (the first attempt may be under way already); a passphrase typed at a
    terminal may be typed again if it was wrong (config.PROMPT_ATTEMPTS times in all)."""
    from lkvault.vault import Vault

    attempts = config.PROMPT_ATTEMPTS if config.passphrase_is_typed() else 1
    for attempt in range(1, attempts + 1):
        try:
            if attempt == 1 and first is not None:
                return first()
            return Vault.open(backend, config.passphrase(), config.environment())
        except AccessDenied:
            if attempt == attempts:
                raise
            render.stderr.print(
                f"Wrong passphrase; try again ({attempt} of {attempts} attempts used).",
                markup=False,
            )
    raise AssertionError("unreachable: the last attempt returns or raises")


def warn_rollback(vault: Vault, snapshots: list[Snapshot]) -> None:
    warning = vault.rollback_warning(snapshots)
    if warning:
        render.warning_line(f"{warning}; run 'lkvault verify'")


def print_warnings(vault: Vault) -> None:
    """Damage noticed on the way (e.g. an unreadable snapshot record), one line each."""
    for warning in vault.warnings:
        render.warning_line(warning)
