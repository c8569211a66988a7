"""The 'lkvault key' commands: several passphrases per vault, changing one, and paper recovery
keys for when every passphrase is lost."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from lkvault.vault import UsageError

from . import config, render
from .app import JsonOption, VaultOption, app, print_warnings

key_app = typer.Typer(
    help="Passphrases that open the vault (key slots), and paper recovery keys.",
    no_args_is_help=True,
)

if TYPE_CHECKING:
    from lkvault.vault import KeySlot, SlotInfo, Vault

app.add_typer(key_app, name="key")

NewPasswordFileOption = Annotated[
    Path | None,
    typer.Option(help="Read the new passphrase from this file (else $LKVAULT_NEW_PASSWORD)."),
]
LabelOption = Annotated[
    str, typer.Option(help="Who or what the key is for, shown by 'lkvault key list'.")
]


def _open(vault_option: str | None) -> tuple[Vault, bytes]:
    """The vault, and the passphrase that opened it."""
    from lkvault.vault import Vault

    location = config.vault_location(vault_option)
    current = config.passphrase()
    return Vault.open(config.backend_for(location), current, config.environment()), current


def _new_passphrase(file_option: Path | None, current: bytes | None) -> bytes:
    new = config.new_passphrase(file_option)
    if current is not None and new == current:
        raise UsageError(
            "the new passphrase is the one that opened the vault; give a different one with "
            "--new-password-file or LKVAULT_NEW_PASSWORD (or type it when asked in a terminal)"
        )
    return new


def _slot_json(info: SlotInfo) -> dict[str, Any]:
    slot = info.slot
    return {
        "id": info.slot_id,
        "current": info.current,
        "label": slot.label if slot else None,
        "created": (slot.created or None) if slot else None,
        "kdf": (
            {
                "alg": "argon2id",
                "iterations": slot.kdf.iterations,
                "lanes": slot.kdf.lanes,
                "memory_kib": slot.kdf.memory_kib,
            }
            if slot
            else None
        ),
        "problem": info.problem or None,
    }


def _added(slot: KeySlot, json: bool, what: str) -> None:
    if json:
        render.emit_json({"id": slot.slot_id.hex(), "label": slot.label, "created": slot.created})
    else:
        label = f" ({slot.label})" if slot.label else ""
        render.stdout.print(f"{what} key slot {slot.slot_id.hex()[:8]}{label}.", markup=False)


def unique_prefixes(slot_ids: list[str], shortest: int = 8) -> dict[str, str]:
    """Each id's shortest prefix (at least ``shortest`` digits) that no other id starts with,
    so that what ``key list`` shows can be given to ``key remove``: anyone who can write the
    vault can plant a slot whose id begins like another's."""
    shown: dict[str, str] = {}
    for slot_id in slot_ids:
        length = shortest
        while any(o != slot_id and o.startswith(slot_id[:length]) for o in slot_ids):
            length += 1
        shown[slot_id] = slot_id[:length]
    return shown


@key_app.command("list")
def list_(vault: VaultOption = None, json: JsonOption = False) -> None:
    """List the key slots: id, label, when added, and which one you opened the vault with."""
    opened, _ = _open(vault)
    slots = opened.keys.slots()
    if json:
        render.emit_json([_slot_json(s) for s in slots])
        return
    shown = unique_prefixes([info.slot_id for info in slots])
    width = max((len(short) for short in shown.values()), default=8)
    render.stdout.print(f"  {'Slot':<{width}}  {'Added':<25}  Label", markup=False)
    for info in slots:
        mark = "*" if info.current else " "
        short = f"{shown[info.slot_id]:<{width}}"
        if info.slot is None:
            render.stdout.print(f"{mark} {short}  DAMAGED: {info.problem}", markup=False)
            continue
        created = info.slot.created or "unknown (before 0.3.3)"
        label = info.slot.label or "-"
        render.stdout.print(f"{mark} {short}  {created:25}  {label}", markup=False)
    render.stdout.print(
        f"{render.plural(len(slots), 'key slot')}; * marks the one your passphrase opened."
    )


@key_app.command()
def add(
    vault: VaultOption = None,
    json: JsonOption = False,
    new_password_file: NewPasswordFileOption = None,
    label: LabelOption = "",
) -> None:
    """Add a passphrase that opens the vault (e.g. for an assistant); asks for it twice."""
    opened, current = _open(vault)
    slot = opened.keys.add(_new_passphrase(new_password_file, current), label=label)
    _added(slot, json, "Added")


@key_app.command()
def remove(
    slot: Annotated[str, typer.Argument(metavar="SLOT", help="Key slot id or unique prefix.")],
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """Remove a key slot, so its passphrase no longer opens the vault. The slot you opened
    the vault with, and the last key, cannot be removed."""
    opened, _ = _open(vault)
    removed = opened.keys.remove(slot)
    if json:
        render.emit_json({"removed": removed.slot_id})
    else:
        render.stdout.print(
            f"Removed key slot {removed.slot_id[:8]}. Anyone who already read the vault's "
            "master secret can still read it: see SECURITY.md, 'Keys'.",
            markup=False,
        )


@key_app.command()
def passwd(
    vault: VaultOption = None,
    json: JsonOption = False,
    new_password_file: NewPasswordFileOption = None,
) -> None:
    """Change the passphrase you opened the vault with (no data is re-encrypted)."""
    opened, current = _open(vault)
    slot = opened.keys.change_passphrase(_new_passphrase(new_password_file, current))
    _added(slot, json, "Passphrase changed; it now opens")


@key_app.command("export")
def export(
    paper: Annotated[
        bool, typer.Option("--paper", help="A recovery key to write down or print.")
    ] = False,
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """Print a recovery key: the vault's master secret, in lines with check characters."""
    from lkvault.vault import encode_paper_key

    if not paper:
        raise UsageError("give --paper (the only export format: a key to write down or print)")
    opened, _ = _open(vault)
    key = opened.keys.recovery_key()
    lines = encode_paper_key(key)
    if json:
        render.emit_json({"vault_id": key.vault_id.hex(), "lines": lines})
        return
    render.stderr.print(
        "Write these lines down or print them, and keep them apart from the vault: anyone who "
        "has them can read every snapshot, and no passphrase change revokes them. If every "
        "passphrase is lost: lkvault key import --paper FILE (or - to type them).",
        markup=False,
    )
    print(f"lkvault recovery key for vault {key.vault_id.hex()}")
    for line in lines:
        print(line)


@key_app.command("import")
def import_(
    paper: Annotated[
        str,
        typer.Option(
            "--paper",
            metavar="FILE",
            help="File holding a recovery key from 'lkvault key export --paper' ('-': stdin).",
        ),
    ],
    vault: VaultOption = None,
    json: JsonOption = False,
    new_password_file: NewPasswordFileOption = None,
    label: LabelOption = "recovered",
) -> None:
    """Regain access with a recovery key: adds a key slot with a new passphrase (asked twice)."""
    from lkvault.vault import Vault

    if paper == "-":
        if sys.stdin.isatty():
            render.stderr.print("Type the recovery key's lines, then Ctrl-D:")
        text = sys.stdin.read()
    else:
        try:
            text = Path(paper).read_text(errors="replace")
        except OSError as exc:
            raise UsageError(f"cannot read {paper}: {exc.strerror or exc}") from None
    location = config.vault_location(vault)
    opened = Vault.recover(config.backend_for(location), text, config.environment())
    slot = opened.keys.add(_new_passphrase(new_password_file, None), label=label)
    print_warnings(opened)
    _added(slot, json, "Recovery key accepted. Added")
