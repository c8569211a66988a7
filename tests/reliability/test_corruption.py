"""Corruption sweep: every kind of stored file flipped, truncated, deleted or swapped.

A template vault is built once through the CLI with three snapshots (A: random bytes; B: an
export zip; C: next month's export, sharing B's unchanged member) and the lock file left by a
writer killed while holding it. Then, for every stored file of every kind (config, key slot,
packs, index files, snapshot records, locks) and every damage, a private copy is damaged and:

- vault data (packs, index files, snapshot records): ``verify --read-data`` reports the damage
  and names the damaged file (a deleted index file, which leaves no name behind, by the
  snapshots that lost their data; a deleted newest record as a rollback), and every snapshot
  restores byte for byte or is refused without leaving a file: never wrong bytes;
- config and key slots: the vault does not open; one clear line on stderr naming what is
  damaged, exit 1 (3 when no key slot is left at all), nothing written to the vault;
- locks (not vault data): the unreadable lock is taken for the stale lock it is and removed
  by the next command, which works; every snapshot still restores byte for byte.

The fast run damages each file once per kind of damage; the long run (LKVAULT_RELIABILITY=
long) flips bytes at many offsets of each file and truncates each at several lengths.
Tampering aimed at particular structures (frames, headers, tags, weak KDF parameters) is in
test_tamper.py and test_hostile_vault.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import (
    PASSWORD,
    Lk,
    assert_one_line_error,
    copy_lk,
    open_vault,
    random_bytes,
    reopen,
    vault_files,
)
from lkvault.vault import Environment, Vault

from .abc_vault import LABELS, store_abc
from .budget import pick, record, spread
from .checks import json_equal, leave_stale_lock, library_restore, vault_contents

KINDS = ("config", "keys", "data", "index", "snapshots", "locks")
DAMAGES = ("flip", "truncate", "delete", "swap")


@dataclass
class Template:
    lk: Lk
    ids: dict[str, str]
    data: dict[str, bytes]
    made_by: dict[str, str]  # storage name -> label of the snapshot that wrote it
    opened: Vault

    def files(self, kind: str) -> list[str]:
        names = vault_files(self.lk.vault, kind) if kind != "config" else {"config"}
        return sorted(names)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    base = tmp_path_factory.mktemp("corruption-template")
    stored = store_abc(
        base,
        random_size=200_000,
        connections_size=300_000,
        messages_sizes=(80_000, 90_000),
        seed=90,
    )
    lk = stored.lk
    made_by = {name: label for label in LABELS for name in stored.added[label]}
    # A writer killed while holding its lock leaves the lock behind.
    interrupted = base / "interrupted.bin"
    interrupted.write_bytes(random_bytes(100_000, seed=95))
    leave_stale_lock(lk, interrupted)
    assert len(vault_files(lk.vault, "locks")) == 1, "the killed writer left no lock"
    template = Template(lk, stored.ids, stored.data, made_by, open_vault(lk))
    for kind in KINDS:
        assert template.files(kind), f"the template vault has no {kind} file"
    return template


# --- damages ------------------------------------------------------------------------------------


Apply = Callable[[Path, "Path | None"], None]  # (damaged file, swap partner) -> None


def variants(size: int, damage: str) -> list[tuple[str, Apply]]:
    """(description, apply) for each way this run applies ``damage`` to a file of ``size``."""

    def flip(offset: int) -> Apply:
        def apply(path: Path, partner: Path | None) -> None:
            data = bytearray(path.read_bytes())
            data[offset] ^= 0x01
            path.write_bytes(bytes(data))

        return apply

    def cut(keep: int) -> Apply:
        return lambda path, partner: path.write_bytes(path.read_bytes()[:keep])

    def swap(path: Path, partner: Path | None) -> None:
        assert partner is not None
        mine, other = path.read_bytes(), partner.read_bytes()
        partner.write_bytes(mine)
        path.write_bytes(other)

    if damage == "flip":
        offsets = pick([size // 2], spread(list(range(size)), 16))
        return [(f"byte {o} flipped", flip(o)) for o in offsets]
    if damage == "truncate":
        keeps = pick([size // 2], sorted({0, 1, size // 2, size - 1}))
        return [(f"cut to {k} of {size} bytes", cut(k)) for k in keeps]
    if damage == "delete":
        return [("deleted", lambda path, partner: path.unlink())]
    return [("swapped", swap)]


def swap_partner(t: Template, kind: str, name: str) -> str:
    """Another file of the same kind, or (config and key slot, one of each) of the other."""
    same = [n for n in t.files(kind) if n != name]
    if same:
        return same[0]
    if kind == "config":
        return t.files("keys")[0]
    if kind == "keys":
        return "config"
    other_lock = t.lk.vault / "locks" / ("0" * 32)
    return other_lock.relative_to(t.lk.vault).as_posix()


# --- what the user must see -------------------------------------------------------------------


def problems_text(report: object) -> str:
    return " ".join(f"{p.object} {p.message} {' '.join(p.snapshots)}" for p in report.problems)  # type: ignore[attr-defined]


def assert_named(t: Template, name: str, damage: str, text: str, label: str) -> None:
    file_id = name.rsplit("/", 1)[-1]
    if file_id[:16] in text or name in text:
        return
    kind = name.split("/", 1)[0]
    owner = t.made_by.get(name)
    if damage == "delete" and kind == "index" and owner:
        # Nothing is left to name: the snapshots whose data it listed are named instead.
        assert "missing" in text and t.ids[owner][:8] in text, f"{label}: {text}"
        return
    if damage == "delete" and kind == "snapshots":
        # The hole in the chain, or (the newest) the rollback this computer notices.
        assert file_id[:8] in text or "rolled back" in text, f"{label}: {text}"
        return
    raise AssertionError(f"{label}: verify does not name {name}: {text}")


def check_vault_data_damage(
    t: Template, root: Path, state: Path, name: str, damage: str, how: str
) -> None:
    label = f"{name} {how}"
    vault = Vault(reopen(t.opened, root).repo, Environment(state_dir=state, lock_wait=5.0))
    report = vault.verify(read_data=True)
    assert not report.ok, f"{label}: verify --read-data found nothing"
    assert_named(t, name, damage, problems_text(report), label)
    out = root.parent / "out"
    out.mkdir(exist_ok=True)
    for snap_label in LABELS:
        library_restore(vault, t.ids[snap_label], t.data[snap_label], out)


def check_unopenable(
    cli: Callable[..., Any], root: Path, name: str, how: str, kind: str, original: bytes
) -> bool:
    """True when the damage was detected; False when it left the same JSON document."""
    label = f"{name} {how}"
    before = vault_contents(root)
    path = root / name
    if path.exists() and json_equal(path.read_bytes(), original):
        # E.g. only the final newline cut: the same document, so the vault rightly opens.
        result = cli("verify", "--read-data")
        assert result.code == 0, f"{label}: the same JSON document no longer opens: {result}"
        return False
    result = cli("verify", "--read-data")
    assert result.code != 0 and result.out == "", f"{label}: the vault opened: {result.out}"
    message = assert_one_line_error(result.err)
    if kind == "keys" and how == "deleted":
        assert result.code == 3 and "no key slots" in message, f"{label}: {result}"
    else:
        assert result.code == 1, f"{label}: exit {result.code}: {message}"
        named = {"config": ("config",), "keys": ("key slot", "config")}[kind]
        assert any(n in message for n in named), f"{label}: {message}"
        assert "wrong passphrase" not in message, f"{label}: {message}"
    assert vault_contents(root) == before, f"{label}: a refused command changed the vault"
    return True


def check_lock_damage(t: Template, cli: Callable[..., Any], root: Path, how: str) -> None:
    label = f"lock {how}"
    result = cli("verify", "--read-data", "--json")
    assert result.code == 0 and result.json()["ok"], f"{label}: verify: {result}"
    assert not vault_files(root, "locks"), f"{label}: the unreadable lock was not removed"
    result = cli("snapshot", "--any-file", "--json", str(root.parent / "new.bin"))
    assert result.code == 0, f"{label}: snapshot after the damaged lock: {result.err}"
    vault = reopen(t.opened, root)
    out_dir = root.parent / "out"
    out_dir.mkdir(exist_ok=True)
    for snap_label in LABELS:
        assert library_restore(vault, t.ids[snap_label], t.data[snap_label], out_dir), label


# --- the sweep ------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_damage_of_every_stored_file_is_found(
    template: Template,
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    damage: str,
) -> None:
    t = template
    # Each case is a fresh copy where the in-process ``cli`` fixture looks (tmp_path/vault).
    monkeypatch.setenv("LKVAULT_PASSWORD", PASSWORD)
    root, state = tmp_path / "vault", tmp_path / "state"
    (tmp_path / "new.bin").write_bytes(random_bytes(50_000, seed=94))
    tried = detected = 0
    for name in t.files(kind):
        partner = swap_partner(t, kind, name) if damage == "swap" else None
        for how, apply in variants((t.lk.vault / name).stat().st_size, damage):
            how = f"{how} with {partner}" if partner else how
            for folder in (root, state, tmp_path / "out"):
                shutil.rmtree(folder, ignore_errors=True)
            copy_lk(t.lk, tmp_path)
            if partner and not (root / partner).exists():
                # A second lock to swap with: the same killed writer's lock, under another name.
                shutil.copy(root / name, root / partner)
            apply(root / name, root / partner if partner else None)
            if kind in ("config", "keys"):
                original = (t.lk.vault / name).read_bytes()
                detected += check_unopenable(cli, root, name, how, kind, original)
            elif kind == "locks":
                check_lock_damage(t, cli, root, how)  # not vault data: removed as stale
            else:
                check_vault_data_damage(t, root, state, name, damage, how)
                detected += 1
            tried += 1
    assert tried >= 1
    record("corruption", damages=tried, detected=detected)
