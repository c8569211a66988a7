"""Hostile vault: files forged or moved by someone who can write the vault but has no key.

- key slots offering Argon2id parameters outside the allowed range (a cheap guess for an
  attacker, or a memory bomb for the user), of the wrong type, or of another algorithm: every
  command refuses with one line naming the parameter, exit 1, never "wrong passphrase", and
  nothing in the vault changes; a weak slot added beside the real one is reported by verify;
- objects of one type presented as another (a snapshot record in index/, an index file in
  snapshots/ or as a pack, a pack's header swapped with another pack's, a lock as a snapshot,
  key slot, config or snapshot record taken from another vault with the same passphrase):
  verify names the forged file (exit 1), restores give the exact bytes or refuse, and commands
  that cannot trust the vault refuse without writing.

Rolled-back snapshot lists are covered by tests/test_rollback.py; single-field tampering of
slots and config by test_tamper.py.
"""

from __future__ import annotations

import base64
import json
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
    export_zip,
    open_vault,
    random_bytes,
    reopen,
    vault_files,
)
from lkvault.vault import Vault
from lkvault.vault.repository.index import pack_id_of_name
from lkvault.vault.repository.pack import TRAILER_SIZE
from lkvault.vault.repository.stored import read_pack_header

from .budget import record
from .checks import leave_stale_lock, library_restore, vault_contents
from .test_tamper import recompute_check

LABELS = ("A", "B")


@dataclass
class Template:
    lk: Lk
    ids: dict[str, str]
    data: dict[str, bytes]
    made_by: dict[str, dict[str, str]]  # label -> kind -> storage name it wrote
    opened: Vault
    other: Lk  # another vault with the same passphrase


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    base = tmp_path_factory.mktemp("hostile-vault")
    lk = Lk(base / "vault", base / "state")
    lk.init()
    inputs = {"A": base / "a.bin", "B": base / "export.zip"}
    inputs["A"].write_bytes(random_bytes(300_000, seed=60))
    export_zip(inputs["B"], csv_size=200_000, seed=61)
    ids: dict[str, str] = {}
    made_by: dict[str, dict[str, str]] = {}
    for label in LABELS:
        before = vault_files(lk.vault)
        ids[label] = lk.snapshot(inputs[label])
        made_by[label] = {n.split("/", 1)[0]: n for n in vault_files(lk.vault) - before}
    other = Lk(base / "other-vault", base / "other-state")
    other.init()
    other.snapshot(inputs["A"])
    data = {label: path.read_bytes() for label, path in inputs.items()}
    return Template(lk, ids, data, made_by, open_vault(lk), other)


@dataclass
class Case:
    t: Template
    lk: Lk
    work: Path
    new_input: Path
    cli: Callable[..., Any]  # the in-process CLI on this copy (tests/conftest.py)

    @property
    def vault(self) -> Path:
        return self.lk.vault


@pytest.fixture
def case(
    template: Template, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> Case:
    """A private copy of the template, at the place the in-process ``cli`` fixture uses."""
    shutil.copytree(template.lk.vault, tmp_path / "vault")
    shutil.copytree(template.lk.state_dir, tmp_path / "state")
    monkeypatch.setenv("LKVAULT_PASSWORD", PASSWORD)
    new_input = tmp_path / "new.bin"
    new_input.write_bytes(random_bytes(40_000, seed=62))
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    return Case(template, lk, tmp_path, new_input, cli)


def refused_everywhere(c: Case, named: str) -> str:
    """Every command refuses with one line naming ``named`` and exit 1; the vault is left
    exactly as it was. (The CLI runs in this process: the refusals come before any Argon2id
    derivation, so each command takes milliseconds.)"""
    before = vault_contents(c.vault)
    messages = []
    for command in (
        ("verify", "--read-data"),
        ("list",),
        ("snapshot", "--any-file", str(c.new_input)),
        ("restore", "latest", "-o", str(c.work / "out.zip")),
    ):
        result = c.cli(*command)
        message = assert_one_line_error(result.err)
        assert result.code == 1, f"{command[0]}: exit {result.code}: {message}"
        assert named in message, f"{command[0]}: {message}"
        assert "wrong passphrase" not in message, message
        assert result.out == "" and not (c.work / "out.zip").exists()
        messages.append(message)
    assert vault_contents(c.vault) == before, "a refused command changed the vault"
    record("hostile-vault", refused=1)
    return messages[0]


# --- key slots --------------------------------------------------------------------------------


def slot_path(c: Case) -> Path:
    (path,) = (c.vault / "keys").iterdir()
    return path


def edit_slot(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(path.read_text())
    edit(document)
    recompute_check(document)  # as an attacker would: the checksum is not a defence
    path.write_text(json.dumps(document, indent=2) + "\n")


KDF_TAMPERING = [
    ("iterations", 2, "iterations=2"),
    ("iterations", 0, "iterations=0"),
    ("iterations", -3, "iterations=-3"),
    ("iterations", 1_000_000, "iterations=1000000"),
    ("memory_kib", 65535, "memory=65535"),
    ("memory_kib", 2**31, f"memory={2**31}"),
    ("lanes", 0, "lanes=0"),
    ("lanes", 100_000, "lanes=100000"),
    ("salt", base64.b64encode(b"").decode(), "salt"),
    ("iterations", "3", "malformed"),
    ("iterations", True, "malformed"),
    ("memory_kib", 65536.0, "malformed"),
    ("alg", "argon2i", "argon2i"),
    ("alg", "pbkdf2-sha1", "pbkdf2-sha1"),
]


@pytest.mark.parametrize(("field", "value", "named"), KDF_TAMPERING, ids=lambda v: repr(v))
def test_key_slot_with_kdf_parameters_out_of_range_is_refused(
    case: Case, field: str, value: Any, named: str
) -> None:
    def weaken(document: dict[str, Any]) -> None:
        document["kdf"][field] = value

    edit_slot(slot_path(case), weaken)
    message = refused_everywhere(case, named)
    assert "key slot" in message, message


def test_a_weak_key_slot_added_beside_the_real_one_is_reported(case: Case) -> None:
    real = slot_path(case)
    forged = real.with_name("0" * 32)
    forged.write_bytes(real.read_bytes())

    def weaken(document: dict[str, Any]) -> None:
        document["kdf"]["iterations"] = 1
        document["kdf"]["memory_kib"] = 8

    edit_slot(forged, weaken)
    # The real slot still opens the vault; the forged one is never used to derive a key ...
    result = case.cli("list", "--json")
    assert result.code == 0, result.err
    assert {s["id"] for s in result.json()} == set(case.t.ids.values())
    # ... and verify names it.
    result = case.cli("verify", "--read-data", "--json")
    report = result.json()
    assert result.code == 1 and not report["ok"], report
    text = json.dumps(report["problems"])
    assert "0" * 32 in text and "iterations=1" in text, text
    record("hostile-vault", refused=1)


def test_key_slot_of_another_vault_with_the_same_passphrase(case: Case) -> None:
    (foreign,) = (case.t.other.vault / "keys").iterdir()
    slot_path(case).unlink()
    shutil.copy(foreign, case.vault / "keys" / foreign.name)
    message = refused_everywhere(case, "key slot")
    assert "belongs to vault" in message, message


def test_config_of_another_vault_with_the_same_passphrase(case: Case) -> None:
    shutil.copy(case.t.other.vault / "config", case.vault / "config")
    refused_everywhere(case, "config")


# --- objects presented as another type ----------------------------------------------------------


def verify_names(c: Case, named: str, spared: set[str], affected: set[str] = frozenset()) -> None:
    """verify exits 1 naming ``named``; ``spared`` snapshots restore exactly, ``affected``
    ones restore exactly or refuse; nothing else changes in the vault."""
    result = c.cli("verify", "--read-data", "--json")
    code, report = result.code, result.json()
    assert code == 1 and not report["ok"], f"verify did not notice: {report}"
    text = json.dumps(report["problems"])
    assert named in text, f"verify does not name {named}: {text}"
    vault = reopen(c.t.opened, c.vault)
    out = c.work / "restored"
    out.mkdir()
    for label in spared:
        assert library_restore(vault, c.t.ids[label], c.t.data[label], out), label
    for label in affected:
        library_restore(vault, c.t.ids[label], c.t.data[label], out)
    record("hostile-vault", refused=1)


def test_snapshot_record_presented_as_an_index_file(case: Case) -> None:
    record_name = case.t.made_by["B"]["snapshots"]
    forged = case.vault / "index" / record_name.rsplit("/", 1)[1]
    shutil.copy(case.vault / record_name, forged)
    verify_names(case, forged.name[:16], spared={"A", "B"})


def test_index_file_presented_as_a_snapshot_record(case: Case) -> None:
    index_name = case.t.made_by["A"]["index"]
    forged = case.vault / "snapshots" / index_name.rsplit("/", 1)[1]
    shutil.copy(case.vault / index_name, forged)
    verify_names(case, forged.name[:16], spared={"A", "B"})
    result = case.cli("list")
    assert result.code == 0 and forged.name[:16] in result.err, f"list does not warn: {result}"


def test_index_file_presented_as_a_pack(case: Case) -> None:
    pack = case.vault / case.t.made_by["A"]["data"]
    pack.write_bytes((case.vault / case.t.made_by["A"]["index"]).read_bytes())
    verify_names(case, pack.name[:16], spared={"B"}, affected={"A"})
    out = case.work / "refused.bin"
    result = case.cli("restore", case.t.ids["A"], "-o", str(out))
    assert result.code == 1 and not out.exists(), result.err
    assert_one_line_error(result.err)


def test_pack_header_swapped_with_another_packs(case: Case) -> None:
    def header_and_trailer(path: Path) -> tuple[bytes, bytes]:
        vault = case.t.opened
        pack_id = pack_id_of_name(path.relative_to(case.vault).as_posix())
        assert pack_id is not None
        entries = read_pack_header(vault.repo.backend, vault.repo.keys, pack_id)
        end = entries[-1].offset + entries[-1].length
        raw = path.read_bytes()
        return raw[:end], raw[end:]

    pack_a = case.vault / case.t.made_by["A"]["data"]
    pack_b = case.vault / case.t.made_by["B"]["data"]
    frames_a, _ = header_and_trailer(pack_a)
    _, tail_b = header_and_trailer(pack_b)
    assert len(tail_b) > TRAILER_SIZE
    pack_a.write_bytes(frames_a + tail_b)
    verify_names(case, pack_a.name[:16], spared={"B"}, affected={"A"})


def test_lock_presented_as_a_snapshot_record(case: Case) -> None:
    lock = leave_stale_lock(case.lk, case.new_input)
    forged = case.vault / "snapshots" / (lock.name * 2)
    shutil.copy(lock, forged)
    verify_names(case, forged.name[:16], spared={"A", "B"})


def test_snapshot_record_of_another_vault_with_the_same_passphrase(case: Case) -> None:
    (foreign,) = (case.t.other.vault / "snapshots").iterdir()
    shutil.copy(foreign, case.vault / "snapshots" / foreign.name)
    verify_names(case, foreign.name[:16], spared={"A", "B"})
    # It is not taken for a snapshot of this vault.
    result = case.cli("list", "--json")
    assert result.code == 0 and {s["id"] for s in result.json()} == set(case.t.ids.values())


def test_the_template_has_what_the_cases_take(template: Template) -> None:
    for label in LABELS:
        assert set(template.made_by[label]) >= {"data", "index", "snapshots"}, label
    assert template.other.password == PASSWORD
