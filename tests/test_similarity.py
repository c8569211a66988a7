"""Moved rows: a conversation that moves to the top of messages.csv is compressed against the
chunk that held it a month before, found by the line features this computer saved."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pytest
from conftest import PASSPHRASE

from vault import Vault
from vault.repository import repo as repo_module
from vault.similarity import (
    MAX_SHARED,
    FeatureCollector,
    FeatureTable,
    line_features,
)
from vault.vault import Environment

KEY = bytes(32)
HEADER = b"CONVERSATION ID,CONVERSATION TITLE,FROM,DATE,CONTENT\n"
WORDS = ["the", "a", "meeting", "role", "offer", "thanks", "call", "team", "hiring", "great"]


def conversations(count: int, seed: int = 3) -> list[list[bytes]]:
    """``count`` conversations of 1 to 6 rows, each row starting with its conversation's id."""
    r = random.Random(seed)
    out = []
    for number in range(count):
        cid = f"2-{r.getrandbits(160):040x}=="
        rows = []
        for _ in range(r.randint(1, 6)):
            text = " ".join(r.choice(WORDS) for _ in range(r.randint(8, 30)))
            sender, month = r.randint(1, 999), r.randint(1, 12)
            rows.append(
                f"{cid},Chat {number},Person {sender},2025-{month:02d}-01,{text}\n".encode()
            )
        out.append(rows)
    return out


def messages_csv(threads: list[list[bytes]]) -> bytes:
    return HEADER + b"".join(b"".join(rows) for rows in threads)


def with_new_messages(threads: list[list[bytes]], every: int, seed: int) -> list[list[bytes]]:
    """One conversation in ``every`` gets a new message and moves to the top, as LinkedIn does."""
    r = random.Random(seed)
    moved, kept = [], []
    for number, rows in enumerate(threads):
        if number % every == seed % every:
            cid = rows[0].split(b",", 1)[0]
            text = " ".join(r.choice(WORDS) for _ in range(20)).encode()
            moved.append([cid + b",Chat,Person 1,2026-01-01," + text + b"\n", *rows])
        else:
            kept.append(rows)
    return moved + kept


def export(path: Path, threads: list[list[bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("messages.csv", messages_csv(threads))
    return path


def stored_frame_bytes(vault: Vault) -> int:
    return sum(frame.length for frames in vault.repo.index.packs.values() for frame in frames)


def test_a_conversations_rows_give_one_feature_and_other_keys_give_others() -> None:
    threads = conversations(3)
    chunk = b"tail of a line begun earlier\n" + b"".join(threads[0]) + b"".join(threads[1])
    features = line_features(KEY, chunk)
    assert features == line_features(KEY, b"x\n" + threads[0][0] + threads[1][-1])
    assert len(features) == 2
    assert line_features(bytes([1]) * 32, chunk).isdisjoint(features)


def test_the_table_names_the_earlier_chunks_that_held_a_new_chunks_rows() -> None:
    threads = conversations(40)
    old_chunks = [
        b"\n" + b"".join(b"".join(rows) for rows in threads[i : i + 4]) for i in range(0, 40, 4)
    ]
    collector = FeatureCollector()
    for chunk in old_chunks:
        collector.add(line_features(KEY, chunk))
    table = FeatureTable.decode(collector.encode(), len(old_chunks))
    assert table is not None
    # Rows of conversations 37, 5, 6 and 22: chunk 1 holds two of them, then 5 and 9 one each.
    new_chunk = b"\n" + b"".join(threads[i][0] for i in (37, 5, 6, 22))
    assert table.candidates(line_features(KEY, new_chunk)) == [1, 5, 9]
    assert table.candidates(line_features(KEY, b"\nnothing,like,it\n")) == []


def test_a_feature_common_to_many_chunks_is_not_followed() -> None:
    collector = FeatureCollector()
    for number in range(MAX_SHARED + 1):
        collector.add(
            line_features(KEY, f"\nsame prefix for every line of the file,{number}\n".encode())
        )
    table = FeatureTable.decode(collector.encode(), MAX_SHARED + 1)
    assert table is not None
    assert (
        table.candidates(line_features(KEY, b"\nsame prefix for every line of the file,x\n")) == []
    )


def test_a_table_that_is_not_one_is_refused_and_stray_indexes_are_ignored() -> None:
    assert FeatureTable.decode(b"\x01" * 12, 3) is None
    collector = FeatureCollector()
    collector.add(line_features(KEY, b"\nrow one\n"))
    collector.add(line_features(KEY, b"\nrow two\n"))
    encoded = collector.encode()
    table = FeatureTable.decode(encoded, 1)  # the version has one chunk: index 1 is stray
    assert table is not None
    assert table.candidates(line_features(KEY, b"\nrow two\n")) == []
    assert table.candidates(line_features(KEY, b"\nrow one\n")) == [0]


def test_moved_conversations_cost_less_with_the_saved_features(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small frames and dictionaries, so that a small export has, as a large one does, the moved
    # rows on top in frames of their own, far from the chunks they left.
    monkeypatch.setattr(repo_module, "FRAME_TARGET", 64 * 1024)
    monkeypatch.setattr(repo_module, "DICTIONARY_TARGET", 256 * 1024)
    threads = conversations(4000)
    months = [threads, with_new_messages(threads, 25, 4)]
    paths = [export(tmp_path / f"m{i}.zip", t) for i, t in enumerate(months)]

    def second_month_cost(state: Path | None, name: str) -> tuple[int, Vault]:
        seeded = random.Random(11)
        env = Environment(rng=seeded.randbytes, state_dir=state, workers=1)
        vault = Vault.init(str(tmp_path / name), PASSPHRASE, env)
        vault.snapshot(paths[0])
        before = stored_frame_bytes(vault)
        vault.snapshot(paths[1])
        return stored_frame_bytes(vault) - before, vault

    with_features, vault = second_month_cost(tmp_path / "state", "with")
    without, _ = second_month_cost(None, "without")
    assert with_features < 0.85 * without
    for ref, path in zip(("1", "2"), paths, strict=True):
        out = tmp_path / f"restored{ref}.zip"
        vault.restore(vault.snapshots()[int(ref) - 1].id.hex(), out)
        assert out.read_bytes() == path.read_bytes()


def test_damaged_saved_features_cost_nothing_but_the_saving(
    tmp_path: Path, env: Environment
) -> None:
    threads = conversations(600)
    vault = Vault.init(str(tmp_path / "vault"), PASSPHRASE, env)
    vault.snapshot(export(tmp_path / "m0.zip", threads))
    [saved] = list((tmp_path / "state").glob("*/features.bin"))
    assert saved.stat().st_size > 0
    saved.write_bytes(b"\x28\xb5\x2f\xfd not really zstd")
    second = export(tmp_path / "m1.zip", with_new_messages(threads, 5, 2))
    vault.snapshot(second)
    out = tmp_path / "restored.zip"
    vault.restore("latest", out)
    assert out.read_bytes() == second.read_bytes()
    assert vault.verify(read_data=True).ok
