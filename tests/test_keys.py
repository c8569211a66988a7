"""Keys as a new user meets them: several passphrases for one vault, changing one, removing
one, and getting back in with a paper recovery key when every passphrase is lost."""

from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers_cli import SIGKILLED, Lk, assert_one_line_error
from lkvault.vault import BadInput
from lkvault.vault.format.paperkey import ALPHABET, RecoveryKey, decode, encode

MEMBER = "correct horse battery staple"  # the cli fixture's passphrase
ASSISTANT = "assistant's own passphrase 4"


@pytest.fixture
def stored(cli, tmp_path: Path) -> tuple[str, bytes]:  # noqa: ANN001
    """A vault holding one snapshot: (its id, the bytes stored)."""
    assert cli("init").code == 0
    source = tmp_path / "Basic_LinkedInDataExport_01-15-2026.zip"
    data = os.urandom(100_000)
    source.write_bytes(data)
    result = cli("snapshot", "--any-file", str(source))
    assert result.code == 0, result.err
    return result.out.strip(), data


def as_user(monkeypatch: pytest.MonkeyPatch, passphrase: str, new: str | None = None) -> None:
    monkeypatch.setenv("LKVAULT_PASSWORD", passphrase)
    if new is None:
        monkeypatch.delenv("LKVAULT_NEW_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("LKVAULT_NEW_PASSWORD", new)


def restores(cli, tmp_path: Path, snap_id: str, data: bytes) -> bool:  # noqa: ANN001
    target = tmp_path / f"restored-{os.urandom(4).hex()}"
    return cli("restore", snap_id, "-o", str(target)).code == 0 and target.read_bytes() == data


def test_member_and_assistant_each_open_the_vault_and_keys_can_go(
    cli, stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    snap_id, data = stored
    as_user(monkeypatch, MEMBER, ASSISTANT)
    added = cli("key", "add", "--label", "assistant", "--json")
    assert added.code == 0, added.err
    assistant_slot = added.json()["id"]

    as_user(monkeypatch, ASSISTANT)
    assert restores(cli, tmp_path, snap_id, data)
    slots = cli("key", "list", "--json").json()
    assert len(slots) == 2
    assert [s["label"] for s in slots if s["current"]] == ["assistant"]

    # Nobody removes the key they are using, and the member cannot lose the last one.
    refused = cli("key", "remove", assistant_slot[:8])
    assert refused.code == 2 and "opened the vault with" in assert_one_line_error(refused.err)

    as_user(monkeypatch, MEMBER)
    removed = cli("key", "remove", assistant_slot[:8])
    assert removed.code == 0, removed.err
    as_user(monkeypatch, ASSISTANT)
    assert cli("list").code == 3  # the assistant's passphrase no longer opens it
    as_user(monkeypatch, MEMBER)
    assert restores(cli, tmp_path, snap_id, data)
    own = cli("key", "list", "--json").json()
    assert len(own) == 1
    last = cli("key", "remove", own[0]["id"])
    assert last.code == 2 and cli("key", "list", "--json").json() == own


def test_passwd_changes_the_passphrase_without_touching_data(
    cli, stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    snap_id, data = stored
    vault = tmp_path / "vault"
    data_files = sorted(p.name for p in (vault / "data").rglob("*"))
    new_file = tmp_path / "new-passphrase.txt"
    new_file.write_text("a brand new passphrase\n")
    changed = cli("key", "passwd", "--new-password-file", str(new_file))
    assert changed.code == 0, changed.err
    assert cli("list").code == 3  # the old passphrase is gone
    as_user(monkeypatch, "a brand new passphrase")
    assert restores(cli, tmp_path, snap_id, data)
    assert sorted(p.name for p in (vault / "data").rglob("*")) == data_files
    # The same passphrase again is a mistake, not a change.
    same = cli("key", "passwd", "--new-password-file", str(new_file))
    assert same.code == 2 and "different" in assert_one_line_error(same.err)


def test_paper_key_recovers_a_vault_whose_passphrases_are_all_lost(
    cli, stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    snap_id, data = stored
    exported = cli("key", "export", "--paper")
    assert exported.code == 0
    paper = tmp_path / "recovery-key.txt"
    paper.write_text(exported.out)
    lines = exported.out.splitlines()
    assert lines[0].startswith("lkvault recovery key for vault") and len(lines) == 5

    as_user(monkeypatch, "nobody remembers this", new="found again 2026")
    assert cli("list").code == 3

    # One mistyped character: refused, saying where, and nothing changes.
    typo = lines[2]
    position = typo.index(" ") + 3
    wrong = "x" if typo[position] != "x" else "y"
    typo_file = tmp_path / "typo.txt"
    typo_file.write_text("\n".join([*lines[:2], typo[:position] + wrong + typo[position + 1 :]]))
    typo_file.write_text(typo_file.read_text() + "\n" + "\n".join(lines[3:]) + "\n")
    keys_before = sorted((tmp_path / "vault" / "keys").iterdir())
    refused = cli("key", "import", "--paper", str(typo_file))
    message = assert_one_line_error(refused.err)
    assert refused.code == 2
    assert f"line 2, group 1, character 3 reads '{wrong}' where the key has '{typo[position]}'" in (
        message
    ), message
    assert sorted((tmp_path / "vault" / "keys").iterdir()) == keys_before

    # Typed back from stdin, in capitals and with an O for a zero: accepted.
    typed = exported.out.upper().replace("0", "O")
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    imported = cli("key", "import", "--paper", "-")
    assert imported.code == 0, imported.err
    as_user(monkeypatch, "found again 2026")
    assert restores(cli, tmp_path, snap_id, data)
    assert [s["label"] for s in cli("key", "list", "--json").json() if s["current"]] == [
        "recovered"
    ]


def test_a_recovery_key_of_another_vault_is_refused(
    cli, stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    other = RecoveryKey(os.urandom(16), os.urandom(32))
    paper = tmp_path / "other.txt"
    paper.write_text("\n".join(encode(other)) + "\n")
    as_user(monkeypatch, MEMBER, new="whatever new 1")
    result = cli("key", "import", "--paper", str(paper))
    assert result.code == 3 and "is for vault" in assert_one_line_error(result.err)


def test_every_single_mistyped_character_is_caught() -> None:
    key = RecoveryKey(bytes(range(16)), bytes(range(100, 132)))
    lines = encode(key)
    assert decode("\n".join(lines)) == key
    for number, line in enumerate(lines, 1):
        prefix = f"{number}: "
        for position in range(len(prefix), len(line)):
            if line[position] == " ":
                continue
            for char in ALPHABET:
                if char == line[position]:
                    continue
                changed = line[:position] + char + line[position + 1 :]
                text = "\n".join([*lines[: number - 1], changed, *lines[number:]])
                with pytest.raises(BadInput, match=f"line {number}"):
                    decode(text)


def test_passwd_killed_at_any_point_leaves_a_working_passphrase(tmp_path: Path) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    for nth in (1, 2, 3):
        work = tmp_path / f"kill-{nth}"
        copy = Lk(work / "vault", work / "state")
        shutil.copytree(lk.vault, copy.vault)
        code, _out, err = copy.run(
            "key",
            "passwd",
            extra={"LKVAULT_NEW_PASSWORD": "new one 9"},
            killed_at=str(nth),
        )
        assert code == SIGKILLED, err
        opened = [p for p in (lk.password, "new one 9") if copy.run("list", password=p)[0] == 0]
        assert opened, f"killed at change {nth}: no passphrase opens the vault"
