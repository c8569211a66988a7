"""A vault written by format version 1 keeps opening, restoring and verifying, forever."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from vault import Environment, Vault
from vault.restorer import load_tree
from vault.tree import Deflated

GOLDEN = Path(__file__).parent / "fixtures" / "golden-v1"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())


@pytest.fixture
def golden(tmp_path: Path) -> Vault:
    copy = tmp_path / "golden"
    shutil.copytree(GOLDEN / "vault", copy)
    return Vault.open(str(copy), MANIFEST["passphrase"].encode(), Environment(state_dir=None))


def test_lists_every_snapshot(golden: Vault) -> None:
    found = golden.snapshots()
    assert [s.id.hex() for s in found] == [m["id"] for m in MANIFEST["snapshots"]]
    assert [s.source for s in found] == [m["source"] for m in MANIFEST["snapshots"]]
    assert [s.seq for s in found] == list(range(1, len(found) + 1))


@pytest.mark.parametrize("entry", MANIFEST["snapshots"], ids=lambda m: m["source"])
def test_restores_byte_for_byte(golden: Vault, tmp_path: Path, entry: dict) -> None:  # type: ignore[type-arg]
    out = tmp_path / "out"
    golden.restore(entry["id"][:12], out)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == entry["sha256"]
    assert out.stat().st_size == entry["size"]


def test_exercises_every_v1_structure(golden: Vault) -> None:
    trees = {s.source: load_tree(golden.repo, s.tree) for s in golden.snapshots()}
    export = trees["Basic_LinkedInDataExport_01-15-2026.zip"]
    assert any(isinstance(p, Deflated) for p in export.parts)
    assert any(not m.compressed and m.method == 0 for m in export.members)
    assert any(m.compressed for m in trees["Huffman_only.zip"].members)
    assert trees["long-stream.bin"].parts[0].lists  # type: ignore[union-attr]
    content = b"".join(golden.cat(MANIFEST["snapshots"][0]["id"][:8], "Profile.csv"))
    assert content == b"First Name,Headline\nAda,Engineer\n"


def test_verifies_clean(golden: Vault) -> None:
    report = golden.verify(read_data=True)
    assert report.ok, [p.describe() for p in report.problems]
