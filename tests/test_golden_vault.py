"""Vaults written by every shipped format version keep opening, restoring and verifying, forever:
golden-v1 (lkvault 0.1) and golden-v3 (0.3: dictionary frames of version 2, row order)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from lkvault.vault import Environment, Vault
from lkvault.vault.format.tree import Deflated, Reordered
from lkvault.vault.operations.restorer import load_tree

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "golden-v1"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())
VERSIONS = ["golden-v1", "golden-v3"]


def open_golden(name: str, tmp_path: Path) -> tuple[Vault, dict]:  # type: ignore[type-arg]
    copy = tmp_path / name
    shutil.copytree(FIXTURES / name / "vault", copy)
    manifest = json.loads((FIXTURES / name / "manifest.json").read_text())
    vault = Vault.open(str(copy), manifest["passphrase"].encode(), Environment(state_dir=None))
    return vault, manifest


@pytest.fixture
def golden(tmp_path: Path) -> Vault:
    return open_golden("golden-v1", tmp_path)[0]


def test_lists_every_snapshot(golden: Vault) -> None:
    found = golden.snapshots()
    assert [s.id.hex() for s in found] == [m["id"] for m in MANIFEST["snapshots"]]
    assert [s.source for s in found] == [m["source"] for m in MANIFEST["snapshots"]]
    assert [s.seq for s in found] == list(range(1, len(found) + 1))


@pytest.mark.parametrize("name", VERSIONS)
def test_restores_byte_for_byte_and_verifies_clean(tmp_path: Path, name: str) -> None:
    vault, manifest = open_golden(name, tmp_path)
    assert [s.id.hex() for s in vault.snapshots()] == [m["id"] for m in manifest["snapshots"]]
    for entry in manifest["snapshots"]:
        out = tmp_path / "out"
        vault.restore(entry["id"][:12], out, force=True)
        assert hashlib.sha256(out.read_bytes()).hexdigest() == entry["sha256"]
        assert out.stat().st_size == entry["size"]
    report = vault.verify(read_data=True)
    assert report.ok, [p.describe() for p in report.problems]


def test_exercises_dictionary_frames_and_row_order(tmp_path: Path) -> None:
    vault, manifest = open_golden("golden-v3", tmp_path)
    assert vault.repo.index.dictionary_frames()
    newest = load_tree(vault.repo, vault.snapshots()[-1].tree)
    messages = next(m for m in newest.members if m.name == "messages.csv")
    part = newest.parts[messages.part]
    assert isinstance(part, Deflated) and isinstance(part.content, Reordered)
    content = b"".join(vault.cat(manifest["snapshots"][-1]["id"][:8], "messages.csv"))
    assert content.startswith(b"CONVERSATION ID,")


def test_exercises_every_v1_structure(golden: Vault) -> None:
    trees = {s.source: load_tree(golden.repo, s.tree) for s in golden.snapshots()}
    export = trees["Basic_LinkedInDataExport_01-15-2026.zip"]
    assert any(isinstance(p, Deflated) for p in export.parts)
    assert any(not m.compressed and m.method == 0 for m in export.members)
    assert any(m.compressed for m in trees["Huffman_only.zip"].members)
    assert trees["long-stream.bin"].parts[0].lists  # type: ignore[union-attr]
    content = b"".join(golden.cat(MANIFEST["snapshots"][0]["id"][:8], "Profile.csv"))
    assert content == b"First Name,Headline\nAda,Engineer\n"


def test_v1_exports_are_counted_when_listed(
    cli,  # noqa: ANN001
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """lkvault 0.1 recorded no summaries: list, status and timeline count the stored exports
    (as a new snapshot would be counted), and remember what they counted."""
    shutil.copytree(GOLDEN / "vault", tmp_path / "vault")
    monkeypatch.setenv("LKVAULT_PASSWORD", MANIFEST["passphrase"])
    listed = cli("list", "--json")
    assert listed.code == 0, listed.err
    exports = {s["source"]: s["export"] for s in listed.json()}
    basic = exports["Basic_LinkedInDataExport_01-15-2026.zip"]
    assert (basic["kind"], basic["date"], basic["member"]["name"]) == ("basic", "2026-01-15", "Ada")
    assert basic["counts"]["connections"] == 3_000
    assert exports["contacts.vcf"]["kind"] == "contacts"
    assert exports["contacts.vcf"]["counts"]["connections"] == 1
    assert exports["long-stream.bin"] is None
    listed_text = cli("list").out
    assert "basic 2026-01-15: 3,000 connections, 0 messages" in listed_text
    assert re.search(r"contacts file: 1 connection(?!s)", listed_text)
    timeline = cli("timeline", "--json")
    assert timeline.code == 0, timeline.err
    assert "3,000" in cli("status").out
    # Counted once per computer: the stored exports are not read again.
    (tmp_path / "vault" / "data").rename(tmp_path / "data-away")
    again = {s["source"]: s["export"] for s in cli("list", "--json").json()}
    assert again == exports
