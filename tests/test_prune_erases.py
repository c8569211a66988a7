"""Forget + prune erases: nothing of a forgotten export stays decryptable in the vault.

Export A (January) holds a conversation that the member deleted before export B (February);
B's frames are compressed against A's chunks. After 'forget A --prune' no frame of any pack
in the vault, decrypted, holds a byte of that conversation, and B still restores exactly.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from conftest import PASSPHRASE
from helpers_cli import decrypted_frames
from lkvault.vault import Environment, Vault

from bench.exportgen import export_name, generate_export

JANUARY, FEBRUARY = date(2026, 1, 15), date(2026, 2, 15)


def messages(path: Path) -> list[dict[str, str]]:
    with zipfile.ZipFile(path) as archive:
        text = archive.read("messages.csv").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[bytes]]:
    """January's and February's exports, and the markers of the conversation only January
    holds: its id and its messages' texts."""
    folder = tmp_path_factory.mktemp("erase")
    january = generate_export(folder / export_name(JANUARY), date=JANUARY, scale=0.05)
    february = generate_export(
        folder / export_name(FEBRUARY), date=FEBRUARY, scale=0.05, month_index=1, deleted_at=1
    )
    kept_ids = {row["CONVERSATION ID"] for row in messages(february)}
    gone = [row for row in messages(january) if row["CONVERSATION ID"] not in kept_ids]
    assert gone, "the generator deleted no conversation"
    markers = [gone[0]["CONVERSATION ID"].encode()]
    markers += [row["CONTENT"].encode() for row in gone if len(row["CONTENT"]) >= 40]
    with zipfile.ZipFile(february) as archive:
        stored = b"".join(archive.read(info) for info in archive.infolist())
    assert not any(marker in stored for marker in markers)
    return january, february, markers


def test_a_forgotten_conversation_is_in_no_frame_after_prune(
    cli,  # noqa: ANN001
    exports: tuple[Path, Path, list[bytes]],
    tmp_path: Path,
) -> None:
    january, february, markers = exports
    assert cli("init").code == 0
    first = cli("snapshot", str(january)).out.strip()
    second = cli("snapshot", str(february)).out.strip()
    vault = Vault.open(
        str(tmp_path / "vault"), PASSPHRASE, Environment(state_dir=tmp_path / "state")
    )
    assert any(m in frame for frame in decrypted_frames(vault) for m in markers)  # stored at first

    forgot = cli("forget", first, "--prune", "--json")
    assert forgot.code == 0, forgot.err
    pruned = forgot.json()["prune"]
    assert pruned["frames_reencoded"] >= 1  # February's frames drew on January's chunks
    assert pruned["bytes_freed_net"] == pruned["bytes_freed"] - pruned["bytes_written"]

    for frame in decrypted_frames(vault):
        for marker in markers:
            assert marker not in frame, f"{marker[:30]!r} survived forget + prune"
    restored = tmp_path / "february.zip"
    assert cli("restore", second, "-o", str(restored)).code == 0
    assert restored.read_bytes() == february.read_bytes()
    assert cli("verify", "--read-data").code == 0
    again = cli("prune", "--json").json()
    assert again["frames_reencoded"] == 0 and again["packs_deleted"] == 0
    assert "Nothing to prune" in cli("prune").out


def stored_bytes(vault: Path) -> int:
    files = [p for folder in ("data", "index") for p in (vault / folder).rglob("*")]
    return sum(p.stat().st_size for p in files if p.is_file())


def test_thinning_re_encodes_against_the_months_kept(cli, tmp_path: Path) -> None:  # noqa: ANN001
    # February alone holds a conversation (started in February, deleted by March). Forgetting
    # February: March's frames drew on February's chunks and are re-encoded against
    # January's versions of them, which stay; stored whole they would take more room than
    # the forgotten month frees.
    months = [date(2026, m, 15) for m in (1, 2, 3)]
    paths = [
        generate_export(tmp_path / export_name(d), date=d, scale=0.05, month_index=k, deleted_at=2)
        for k, d in enumerate(months)
    ]
    ids = [{row["CONVERSATION ID"] for row in messages(p)} for p in paths]
    markers = [cid.encode() for cid in ids[1] - ids[0] - ids[2]]
    assert markers
    assert cli("init").code == 0
    snaps = [cli("snapshot", str(p)).out.strip() for p in paths]
    before = stored_bytes(tmp_path / "vault")
    pruned = cli("forget", snaps[1], "--prune", "--json").json()["prune"]
    assert pruned["frames_reencoded"] >= 1
    assert stored_bytes(tmp_path / "vault") < before
    vault = Vault.open(str(tmp_path / "vault"), PASSPHRASE, Environment(state_dir=tmp_path / "s"))
    index = vault.repo.reload_index()
    assert any(f.has_dictionary for frames in index.packs.values() for f in frames)
    for frame in decrypted_frames(vault):
        assert not any(marker in frame for marker in markers)
    for snap_id, path in ((snaps[0], paths[0]), (snaps[2], paths[2])):
        out = tmp_path / f"{snap_id}.zip"
        assert cli("restore", snap_id, "-o", str(out)).code == 0
        assert out.read_bytes() == path.read_bytes()
    assert cli("verify", "--read-data").code == 0
