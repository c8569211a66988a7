"""Tampering and damage: every kind of change to a stored file is found and named, and never
turns into wrong bytes on a user's disk.

A template vault is built once through the CLI with three snapshots:
  A  9 MB of random bytes          -> pack PA (two frames), index IA
  B  a LinkedIn-like export zip    -> pack PB, index IB
  C  the next month's export: same Connections.csv, new Messages.csv
                                   -> pack PC, index IC; C also needs chunks stored in PB
so damage to PA affects A only, damage to PB affects B and C, damage to PC affects C only.
Each case damages a private copy, then checks what a user sees: ``verify --read-data --json``
exits 1 and names the damaged object and the affected snapshots; ``restore`` of an affected
snapshot exits non-zero and leaves no file behind; unaffected snapshots restore byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import (
    PASSWORD,
    Lk,
    assert_one_line_error,
    assert_restore_refused,
    csv_text,
    flip_byte,
    open_vault,
    random_bytes,
    reopen,
    vault_files,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lkvault.vault import Environment, Vault, VaultError
from lkvault.vault.format.crypto import ObjectType, seal, unseal
from lkvault.vault.repository.index import pack_id_of_name
from lkvault.vault.repository.pack import TRAILER_SIZE
from lkvault.vault.repository.stored import read_pack_header

from .abc_vault import LABELS, export_zip_with, store_abc
from .checks import json_equal, library_restore

# --- the template vault -----------------------------------------------------------------------


@dataclass
class Layout:
    """Where things are in one pack file."""

    size: int
    frames: list[tuple[int, int]]  # (offset, sealed length) of each frame
    header: tuple[int, int]  # (offset, length) of the sealed header


@dataclass
class Template:
    lk: Lk
    ids: dict[str, str]
    data: dict[str, bytes]
    packs: dict[str, str]  # label -> storage name of the pack that snapshot wrote
    indexes: dict[str, str]
    layout: dict[str, Layout]  # pack storage name -> layout
    opened: Vault  # the template opened once: its keys serve every copy without Argon2id

    def short(self, label: str) -> str:
        return self.ids[label][:8]


def pack_layout(vault: Vault, name: str) -> Layout:
    pack_id = pack_id_of_name(name)
    assert pack_id is not None
    entries = read_pack_header(vault.repo.backend, vault.repo.keys, pack_id)
    size = (vault.repo.backend.root / name).stat().st_size
    end = entries[-1].offset + entries[-1].length
    return Layout(size, [(e.offset, e.length) for e in entries], (end, size - TRAILER_SIZE - end))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    stored = store_abc(
        tmp_path_factory.mktemp("tamper-template"),
        random_size=7_000_000,  # two frames, one pack
        connections_size=2_000_000,
        messages_sizes=(600_000, 700_000),
        seed=70,
    )
    lk, ids = stored.lk, stored.ids
    packs, indexes = {}, {}
    for label in LABELS:  # each snapshot wrote one pack and one index file
        (packs[label],) = [n for n in stored.added[label] if n.startswith("data/")]
        (indexes[label],) = [n for n in stored.added[label] if n.startswith("index/")]
    listed = {s["id"]: s for s in lk.list_json()}
    # C stored less than its content: it shares the unchanged member's chunks with B.
    assert listed[ids["C"]]["stats"]["new_bytes"] < listed[ids["B"]]["stats"]["new_bytes"]
    vault = open_vault(lk)
    layout = {packs[label]: pack_layout(vault, packs[label]) for label in LABELS}
    assert len(layout[packs["A"]].frames) >= 2, "A should span two frames"
    return Template(lk, ids, stored.data, packs, indexes, layout, vault)


@dataclass
class Case:
    """A private copy of the template vault to damage, with a fresh state folder."""

    t: Template
    lk: Lk
    work: Path

    @property
    def vault(self) -> Path:
        return self.lk.vault


@pytest.fixture
def case(template: Template, tmp_path: Path) -> Case:
    shutil.copytree(template.lk.vault, tmp_path / "vault")
    return Case(template, Lk(tmp_path / "vault", tmp_path / "state"), tmp_path)


# --- checking a damaged vault -------------------------------------------------------------------


def problems_text(report: dict[str, Any]) -> str:
    return json.dumps(report["problems"])


def check_damage(
    c: Case,
    *,
    names: list[str],
    affected: set[str],
    affected_may_restore: bool = False,
    check_unaffected: bool = True,
    refusals: tuple[type[BaseException], ...] = (VaultError,),
) -> dict[str, Any]:
    """The user-visible contract for a damaged vault; returns the verify report.

    ``names``: strings (storage names or id prefixes) that must each appear in the problems.
    ``affected``: labels of the snapshots that need the damaged object; verify must name each,
    ``lkvault restore`` of the first must exit non-zero and write nothing, and the library must
    refuse every one of them. Unaffected snapshots must not be blamed and (unless
    ``check_unaffected`` is off) restore byte for byte.
    ``affected_may_restore``: the damage spares the bytes an affected snapshot needs (e.g. its
    pack's header), so restore may succeed, but only with exactly the original bytes.
    """
    t = c.t
    out_dir = c.work / "out"
    out_dir.mkdir()
    with ThreadPoolExecutor(max_workers=2) as pool:
        verified: Future[tuple[int, dict[str, Any], str]] = pool.submit(c.lk.verify_json)
        first = sorted(affected)[0] if affected else None
        refused: Future[str] | None = None
        if first is not None and not affected_may_restore:
            cli_dir = c.work / "cli-out"
            cli_dir.mkdir()
            refused = pool.submit(assert_restore_refused, c.lk, t.ids[first], cli_dir)
        # Meanwhile, through the library: every snapshot either restores exactly or refuses.
        vault = reopen(t.opened, c.vault)
        restored = {
            label: library_restore(vault, t.ids[label], t.data[label], out_dir, refusals)
            for label in LABELS
        }
        code, report, _err = verified.result()
        if refused is not None:
            refused.result()

    assert code == 1 and report["ok"] is False, f"verify did not notice the damage: {report}"
    text = problems_text(report)
    for name in names:
        assert name in text, f"verify does not name {name!r}: {text}"
    blamed = {s for p in report["problems"] for s in p["snapshots"]}
    for label in LABELS:
        if label in affected:
            assert t.short(label) in text, f"verify does not name affected snapshot {label}"
            if not affected_may_restore:
                assert not restored[label], f"damaged snapshot {label} restored"
        else:
            assert t.short(label) not in blamed, f"verify blames unaffected snapshot {label}"
            if check_unaffected:
                assert restored[label], f"unaffected snapshot {label} no longer restores"
    return report


def pack_file(c: Case, label: str) -> Path:
    return c.vault / c.t.packs[label]


def file_id(name: str) -> str:
    return name.rsplit("/", 1)[1]


# --- packs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["second frame", "last byte of a frame"])
def test_flipped_byte_inside_a_frame(case: Case, where: str) -> None:
    layout = case.t.layout[case.t.packs["A"]]
    (off1, len1), (off2, len2) = layout.frames[0], layout.frames[1]
    offset = {
        "second frame": off2 + len2 // 2,
        "last byte of a frame": off1 + len1 - 1,  # inside the GCM tag
    }[where]
    flip_byte(pack_file(case, "A"), offset)
    check_damage(case, names=[case.t.packs["A"]], affected={"A"})


def test_flipped_byte_in_a_frame_shared_by_two_snapshots(case: Case) -> None:
    offset, length = case.t.layout[case.t.packs["B"]].frames[0]
    flip_byte(pack_file(case, "B"), offset + length // 3)
    check_damage(case, names=[case.t.packs["B"]], affected={"B", "C"})


@pytest.mark.parametrize("where", ["header start", "header tag", "trailer"])
def test_flipped_byte_in_pack_header_or_trailer(case: Case, where: str) -> None:
    layout = case.t.layout[case.t.packs["A"]]
    start, length = layout.header
    offset = {
        "header start": start,  # first byte of its nonce
        "header tag": start + length - 1,
        "trailer": layout.size - 2,  # the u32le header length
    }[where]
    flip_byte(pack_file(case, "A"), offset)
    # The frames are intact and the index says where they are, so restoring A may still
    # succeed; but only with the exact original bytes.
    check_damage(case, names=[case.t.packs["A"]], affected={"A"}, affected_may_restore=True)


@pytest.mark.parametrize("keep", ["half", "all but the trailer"])
def test_truncated_pack(case: Case, keep: str) -> None:
    path = pack_file(case, "A")
    data = path.read_bytes()
    size = {"half": len(data) // 2, "all but the trailer": len(data) - 4}[keep]
    path.write_bytes(data[:size])
    frames_cut = size < sum(length for _, length in case.t.layout[case.t.packs["A"]].frames)
    check_damage(
        case, names=[case.t.packs["A"]], affected={"A"}, affected_may_restore=not frames_cut
    )


# A missing pack is damage, reported inside lkvault's exception tree.
MISSING_PACK_REFUSALS = (VaultError,)


def test_deleted_pack(case: Case) -> None:
    pack_file(case, "A").unlink()
    report = check_damage(
        case, names=[case.t.packs["A"]], affected={"A"}, refusals=MISSING_PACK_REFUSALS
    )
    assert any("missing" in p["message"] for p in report["problems"])


def test_deleted_pack_is_an_integrity_error_in_the_library(case: Case) -> None:
    from lkvault.vault import IntegrityError

    pack_file(case, "A").unlink()
    vault = open_vault(case.lk)
    with pytest.raises(IntegrityError, match="missing"):
        vault.restore(case.t.ids["A"], case.work / "out.bin")


def test_swapped_packs(case: Case) -> None:
    # PB's content under PC's name (PB gone): both B and C lose data, A is untouched.
    pack_file(case, "B").replace(pack_file(case, "C"))
    check_damage(
        case,
        names=[case.t.packs["B"], case.t.packs["C"]],
        affected={"B", "C"},
        refusals=MISSING_PACK_REFUSALS,
    )


def test_frame_from_another_vault_with_the_same_passphrase(case: Case) -> None:
    """A frame sealed by another vault (same passphrase, same plaintext, so same length)
    spliced in place of one of A's frames: it must fail authentication."""
    ours = case.t.opened
    other = Vault.init(
        str(case.work / "other-vault"), PASSWORD.encode(), Environment(state_dir=None)
    )
    pack_id = pack_id_of_name(case.t.packs["A"])
    assert pack_id is not None
    entry = ours.repo.index.packs[pack_id][0]
    sealed_ours = (case.vault / case.t.packs["A"]).read_bytes()[
        entry.offset : entry.offset + entry.length
    ]
    plaintext = unseal(ours.repo.keys, ObjectType.FRAME, entry.id, sealed_ours)
    # Seal the same plaintext as the other vault would (docs/FORMAT.md, "Objects").
    keys = other.repo.keys
    foreign_id = keys.object_id_of(ObjectType.FRAME, plaintext)
    sealed = seal(keys, ObjectType.FRAME, foreign_id, plaintext, os.urandom)
    assert unseal(keys, ObjectType.FRAME, foreign_id, sealed) == plaintext  # valid there
    assert len(sealed) == entry.length
    path = pack_file(case, "A")
    data = bytearray(path.read_bytes())
    data[entry.offset : entry.offset + entry.length] = sealed
    path.write_bytes(bytes(data))
    report = check_damage(case, names=[case.t.packs["A"]], affected={"A"})
    assert "failed authentication" in problems_text(report)


# --- index files ------------------------------------------------------------------------------


def test_flipped_byte_in_an_index_file(case: Case) -> None:
    name = case.t.indexes["A"]
    flip_byte(case.vault / name, 200)
    check_damage(case, names=[name], affected={"A"}, check_unaffected=False)


def test_flipped_byte_in_an_index_file_spares_other_snapshots(case: Case) -> None:
    flip_byte(case.vault / case.t.indexes["A"], 200)
    check_damage(case, names=[case.t.indexes["A"]], affected={"A"})


def test_deleted_index_file(case: Case) -> None:
    (case.vault / case.t.indexes["A"]).unlink()
    report = check_damage(case, names=[], affected={"A"})
    assert "missing" in problems_text(report)


# --- snapshot files -----------------------------------------------------------------------------


def test_flipped_byte_in_a_snapshot_file(case: Case) -> None:
    snap_a = case.t.ids["A"]
    flip_byte(case.vault / "snapshots" / snap_a, 60)
    check_damage(case, names=[snap_a], affected={"A"}, check_unaffected=False)


def test_flipped_byte_in_a_snapshot_file_spares_other_snapshots(case: Case) -> None:
    flip_byte(case.vault / "snapshots" / case.t.ids["A"], 60)
    code, out, err = case.lk.run("list", "--json")
    assert code == 0, f"list fails: {err}"
    assert {s["id"] for s in json.loads(out)} == {case.t.ids["B"], case.t.ids["C"]}
    check_damage(case, names=[case.t.ids["A"]], affected={"A"})


def test_swapped_snapshot_files(case: Case) -> None:
    b, c = case.vault / "snapshots" / case.t.ids["B"], case.vault / "snapshots" / case.t.ids["C"]
    data_b, data_c = b.read_bytes(), c.read_bytes()
    b.write_bytes(data_c)
    c.write_bytes(data_b)
    check_damage(
        case,
        names=[case.t.ids["B"], case.t.ids["C"]],
        affected={"B", "C"},
        check_unaffected=False,
    )


# --- config and key slots -------------------------------------------------------------------


def open_fails(c: Case, password: str | None = None) -> tuple[int, str]:
    """``verify --read-data`` cannot even open the vault: exit code and the one-line error."""
    code, out, err = c.lk.run("verify", "--read-data", password=password)
    assert code != 0, f"the vault opened: {out}"
    assert out == ""
    return code, assert_one_line_error(err)


def edit_json(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document, indent=2) + "\n")


@pytest.mark.parametrize("field", ["mac", "chunker", "brace"])
def test_flipped_byte_in_the_config(case: Case, field: str) -> None:
    path = case.vault / "config"
    raw = path.read_bytes()
    offset = {
        "mac": raw.index(b'"mac": "') + 10,
        "chunker": raw.index(b'"min": ') + 8,
        "brace": 0,
    }[field]
    flip_byte(path, offset)
    code, message = open_fails(case)
    assert code == 1, message
    assert "config" in message and "passphrase" not in message, message


def test_changed_vault_id_in_the_config_is_not_called_a_wrong_passphrase(case: Case) -> None:
    path = case.vault / "config"
    raw = path.read_bytes()
    at = raw.index(b'"vault_id": "') + len(b'"vault_id": "')
    digit = raw[at : at + 1]
    path.write_bytes(raw[:at] + (b"0" if digit != b"0" else b"1") + raw[at + 1 :])
    code, message = open_fails(case)
    assert code == 1, f"exit {code}: {message}"
    assert "config" in message and "wrong passphrase" not in message, message


def slot_path(c: Case) -> Path:
    (path,) = (c.vault / "keys").iterdir()
    return path


def recompute_check(document: dict[str, Any]) -> None:
    """Do what an attacker would: make the slot's (unkeyed) checksum match again."""
    body = {k: v for k, v in document.items() if k != "check"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    document["check"] = hashlib.sha256(canonical).hexdigest()


@pytest.mark.parametrize("damage", ["wrapped secret", "salt", "not json"])
def test_damaged_key_slot_is_not_called_a_wrong_passphrase(case: Case, damage: str) -> None:
    path = slot_path(case)
    if damage == "not json":
        path.write_bytes(path.read_bytes()[:40])
    else:
        field = {"wrapped secret": "wrapped", "salt": "salt"}[damage]

        def change(document: dict[str, Any]) -> None:
            holder = document["kdf"] if field == "salt" else document
            value = bytearray(base64.b64decode(holder[field]))
            value[0] ^= 0x01
            holder[field] = base64.b64encode(bytes(value)).decode()

        edit_json(path, change)
    code, message = open_fails(case)
    assert code == 1, f"exit {code}: {message}"
    assert "key slot" in message and ("damaged" in message or "malformed" in message), message
    assert "wrong passphrase" not in message


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("iterations", 1, "iterations=1"),
        ("memory_kib", 8192, "memory=8192"),
        ("salt", base64.b64encode(b"12345678").decode(), "salt"),
    ],
)
def test_key_slot_with_weak_argon2_parameters_is_refused(
    case: Case, field: str, value: Any, named: str
) -> None:
    def weaken(document: dict[str, Any]) -> None:
        document["kdf"][field] = value
        recompute_check(document)

    edit_json(slot_path(case), weaken)
    code, message = open_fails(case)
    assert code == 1, f"exit {code}: {message}"
    assert named in message and "wrong passphrase" not in message, message


def test_wrong_passphrase_exits_3(case: Case) -> None:
    code, message = open_fails(case, password="not the passphrase")
    assert code == 3 and "wrong passphrase" in message, message
    # Nothing about the vault changed, and the right passphrase still opens it.
    assert case.lk.run("list")[0] == 0


def test_missing_vault_exits_2_with_a_hint(tmp_path: Path) -> None:
    lk = Lk(tmp_path / "no-vault-here", tmp_path / "state")
    for command in (("list",), ("snapshot", __file__)):
        code, out, err = lk.run(*command)
        message = assert_one_line_error(err)
        assert code == 2, f"{command[0]}: exit {code}: {message}"
        assert "lkvault init" in message, message
        assert not lk.vault.exists(), f"{command[0]} created the vault folder"


# --- any single flipped byte, anywhere ----------------------------------------------------------


@dataclass
class Small:
    root: Path
    vault: Vault  # opened once; its keys are reused for every example
    ids: dict[str, str]
    data: dict[str, bytes]
    files: list[str]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Small:
    base = tmp_path_factory.mktemp("flip-any-byte")
    lk = Lk(base / "vault", base / "state")
    lk.init()
    a, b = base / "a.bin", base / "export.zip"
    a.write_bytes(random_bytes(60_000, seed=80))
    export_zip_with(b, csv_text(150_000, seed=81), csv_text(40_000, seed=82))
    ids = {"a": lk.snapshot(a), "b": lk.snapshot(b)}
    data = {"a": a.read_bytes(), "b": b.read_bytes()}
    vault = open_vault(lk)
    return Small(lk.vault, vault, ids, data, sorted(vault_files(lk.vault)))


@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(choice=st.data())
def test_any_flipped_byte_is_found_and_never_restored(
    small: Small, tmp_path: Path, choice: st.DataObject
) -> None:
    # Packs are where most bytes and most structure are: pick them more often.
    kind = choice.draw(st.sampled_from(["data"] * 3 + ["index", "snapshots", "config", "keys"]))
    name = choice.draw(
        st.sampled_from([n for n in small.files if n.split("/")[0] == kind]), label="file"
    )
    path = small.root / name
    original = path.read_bytes()
    size = len(original)
    offset = choice.draw(
        st.one_of(
            st.integers(0, size - 1),
            st.integers(max(0, size - 64), size - 1),  # trailers, tags, padding at the end
            st.integers(0, min(size - 1, 63)),  # nonces, headers at the start
        ),
        label="offset",
    )
    mask = choice.draw(st.integers(1, 255), label="xor")
    event(f"damaged: {name.split('/')[0]}")
    damaged = bytearray(original)
    damaged[offset] ^= mask
    path.write_bytes(bytes(damaged))
    out_dir = tmp_path / f"out-{os.urandom(4).hex()}"
    out_dir.mkdir()
    try:
        harmless = name in ("config",) or name.startswith("keys/")
        harmless = harmless and json_equal(original, bytes(damaged))  # JSON whitespace only
        if name == "config" or name.startswith("keys/"):
            try:
                vault = Vault.open(str(small.root), PASSWORD.encode(), Environment(state_dir=None))
            except VaultError:
                assert not harmless
                event("outcome: the vault does not open")
                return  # the vault does not open: nothing can be restored wrongly
            assert harmless, f"{name} byte {offset} ^ {mask:#x}: the vault still opens"
        else:
            vault = reopen(small.vault, small.root)
        report = vault.verify(read_data=True)
        if harmless:
            event("outcome: JSON whitespace changed, content identical")
            assert report.ok, report.problems
        else:
            assert not report.ok, f"{name} byte {offset} ^ {mask:#x}: verify found nothing"
            named = " ".join(f"{p.object} {p.message}" for p in report.problems)
            assert file_id(name)[:16] in named or name in named, (
                f"verify does not name {name}: {named}"
            )
        for label, snap_id in small.ids.items():
            exact = library_restore(vault, snap_id, small.data[label], out_dir)
            event(f"outcome: restore {'exact' if exact else 'refused'}")
    finally:
        path.write_bytes(original)
        shutil.rmtree(out_dir, ignore_errors=True)


def test_the_flip_test_vault_has_every_kind_of_file(small: Small) -> None:
    prefixes = {name.split("/", 1)[0] for name in small.files}
    assert prefixes == {"config", "keys", "data", "index", "snapshots"}
