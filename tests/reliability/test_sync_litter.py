"""Sync-tool litter: files a sync tool or file manager leaves in a vault's folders.

Dropbox, Syncthing, OneDrive, Finder and Explorer drop .DS_Store, ._AppleDouble, desktop.ini,
Thumbs.db and conflict copies ("... (conflicted copy ...)", ".sync-conflict-...") in every
folder, including keys/ and snapshots/. None of them can be a vault object: every command
ignores them (verify exits 0 and names each in a note, list shows no warning, prune and
snapshot work, restores are exact), and ``repair`` moves them under set-aside/ and says where.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from helpers_cli import Lk, assert_clean_stderr, random_bytes, vault_files

from bench.exportgen import generate_export

from .budget import record


@dataclass
class Template:
    lk: Lk
    ids: list[str]
    inputs: list[Path]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    base = tmp_path_factory.mktemp("litter-template")
    lk = Lk(base / "vault", base / "state")
    lk.init()
    first = generate_export(base / "export.zip", date=date(2026, 1, 15), seed=81)
    second, third = base / "notes.bin", base / "later.bin"
    second.write_bytes(random_bytes(120_000, seed=82))
    third.write_bytes(random_bytes(60_000, seed=84))
    ids = [lk.snapshot(first), lk.snapshot(second), lk.snapshot(third)]
    lk.ok("forget", ids[1][:12])  # so that forget/ exists too
    del ids[1]
    return Template(lk, ids, [first, third])


def litter(vault: Path) -> dict[str, bytes]:
    """Plant litter in every folder of ``vault``; returns what was planted, by name."""
    planted: dict[str, bytes] = {}

    def plant(relative: str, content: bytes) -> None:
        path = vault / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        planted[relative] = content

    folders = [""] + sorted(
        f"{p.relative_to(vault).as_posix()}/" for p in vault.rglob("*") if p.is_dir()
    )
    for folder in folders:
        plant(f"{folder}.DS_Store", b"\x00\x00\x00\x01Bud1" + folder.encode())
        plant(f"{folder}desktop.ini", b"[.ShellClassInfo]\r\nIconResource=x\r\n")
        plant(f"{folder}Thumbs.db", b"\xd0\xcf\x11\xe0thumbs")
    for folder in ("keys", "snapshots", "index", "forget", "locks"):
        for real in sorted((vault / folder).iterdir()):
            if real.name.startswith((".", "desktop", "Thumbs")):
                continue
            content = real.read_bytes()
            plant(f"{folder}/{real.name} (conflicted copy 2026-02-01)", content)
            plant(f"{folder}/{real.name}.sync-conflict-20260201-101010-ABCDEFG", content)
            plant(f"{folder}/._{real.name}", b"AppleDouble")
            plant(f"{folder}/{real.name.upper()}", content)
            break
    plant("config (Dropbox conflicted copy)", (vault / "config").read_bytes())
    plant("data/README.txt", b"not a pack")
    return planted


@pytest.fixture
def littered(template: Template, tmp_path: Path) -> tuple[Lk, dict[str, bytes]]:
    shutil.copytree(template.lk.vault, tmp_path / "vault")
    shutil.copytree(template.lk.state_dir, tmp_path / "state")
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    return lk, litter(lk.vault)


def test_every_command_ignores_litter_and_verify_names_it(
    template: Template, littered: tuple[Lk, dict[str, bytes]], tmp_path: Path
) -> None:
    lk, planted = littered
    code, report, _ = lk.verify_json()
    assert code == 0 and report["ok"], f"litter made verify fail: {report['problems']}"
    for name in planted:
        assert any(note.startswith(f"{name} is a foreign file") for note in report["notes"]), name

    code, out, err = lk.run("list", "--json")
    assert code == 0 and err.strip() == "", err
    assert [s["id"] for s in json.loads(out)] == template.ids
    for snap_id, source in zip(template.ids, template.inputs, strict=True):
        target = tmp_path / f"{snap_id[:8]}.out"
        code, _, err = lk.run("restore", snap_id, "-o", str(target))
        assert code == 0, err
        assert target.read_bytes() == source.read_bytes()
    code, out, err = lk.run("key", "list", "--json")
    assert code == 0, err
    assert len(json.loads(out)) == 1, f"litter in keys/ listed as key slots: {out}"
    for command in (("stats",), ("prune",), ("forget", "--keep-last", "5")):
        code, out, err = lk.run(*command)
        assert code == 0, f"{command[0]} refused a littered vault: {err}"
        assert_clean_stderr(err)
    extra = tmp_path / "more.bin"
    extra.write_bytes(random_bytes(30_000, seed=83))
    lk.snapshot(extra)
    left = {n: (lk.vault / n).read_bytes() for n in planted}
    assert left == planted, "a command changed or removed litter it should only ignore"
    record("sync-litter", files=len(planted), commands=8)


def test_repair_moves_litter_aside_and_says_where(
    littered: tuple[Lk, dict[str, bytes]],
) -> None:
    lk, planted = littered
    before = vault_files(lk.vault)
    code, out, err = lk.run("repair", "--dry-run", "--json")
    assert code == 0, err
    plan = json.loads(out)["foreign_files_set_aside"]
    assert sorted(p["name"] for p in plan) == sorted(planted)
    assert vault_files(lk.vault) == before, "repair --dry-run moved something"

    code, out, err = lk.run("repair")
    assert code == 0, err
    assert f"{len(planted)} foreign files (not vault objects) moved aside" in out, out
    assert str(lk.vault) in out
    for name, content in planted.items():
        assert not (lk.vault / name).exists(), f"{name} was not moved"
        line = next(line for line in out.splitlines() if line.strip().startswith(f"{name} -> "))
        moved_to = line.split(" -> ", 1)[1]
        assert moved_to.startswith("set-aside/") and moved_to.endswith(name), line
        assert (lk.vault / moved_to).read_bytes() == content, f"{name} lost content on the way"
    code, report, _ = lk.verify_json()
    assert code == 0 and report["notes"] == [], report
    record("sync-litter", set_aside=len(planted))
