"""messages.csv in the vault: stored in a stable row order, restored, read and verified exactly;
a conversation that moves to the top with a new message is not stored again."""

from __future__ import annotations

import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from lkvault.vault import Environment, Vault, spill
from lkvault.vault.format.tree import Deflated, Reordered, encode_tree
from lkvault.vault.ingest import zipingest
from lkvault.vault.operations import restorer
from lkvault.vault.operations.restorer import load_tree
from lkvault.vault.repository import blobwriter

from bench.exportgen import generate_series

HEADER = "CONVERSATION ID,CONVERSATION TITLE,FROM,TO,DATE,CONTENT\n"


class Inbox:
    """Conversations as LinkedIn exports them: the most recently active first, newest first."""

    def __init__(self, conversations: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.day = 0
        self.threads = [self._thread(n) for n in range(conversations)]

    def _message(self) -> str:
        self.day += 1
        # Random words: rows compress no better than real messages, which zstd finds only
        # where it looks for them.
        text = " ".join(f"{self.rng.getrandbits(24):x}" for _ in range(self.rng.randrange(3, 20)))
        if self.rng.random() < 0.1:
            text = f'"{text}, ""quoted""\nand a second line"'
        stamp = f"2025-{1 + self.day // 2800 % 12:02d}-{1 + self.day // 100 % 28:02d} "
        return f"{stamp}{self.day // 60 % 24:02d}:{self.day % 60:02d}:00 UTC,{text}"

    def _thread(self, n: int) -> tuple[str, list[str]]:
        name = f"2-{self.rng.getrandbits(64):016x}"
        return name, [self._message() for _ in range(self.rng.randrange(2, 8))][::-1]

    def reply(self, count: int) -> None:
        """``count`` conversations, anywhere in the inbox, get a message and move to the top."""
        for _ in range(count):
            thread = self.threads.pop(self.rng.randrange(len(self.threads)))
            thread[1].insert(0, self._message())
            self.threads.insert(0, thread)

    def csv(self) -> bytes:
        rows = [HEADER] + [
            f"{name},,Ada Lovelace,Grace Hopper,{message}\n"
            for name, messages in self.threads
            for message in messages
        ]
        return "".join(rows).encode()

    def export(self, path: Path) -> Path:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("Profile.csv", "First Name,Last Name\nAda,Lovelace\n")
            z.writestr("messages.csv", self.csv())
        return path


def restored(vault: Vault, ref: str, tmp_path: Path) -> bytes:
    out = tmp_path / f"restored-{ref}.zip"
    vault.restore(ref, out, force=True)
    return out.read_bytes()


@pytest.mark.parametrize("scratch", ["memory", "disk"])
def test_reordered_rows_come_back_exactly_everywhere(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scratch: str
) -> None:
    monkeypatch.setattr(zipingest, "REORDER_MIN_SIZE", 64 * 1024)  # as if it were large
    if scratch == "disk":
        monkeypatch.setattr(spill, "MEMORY_LIMIT", 64 * 1024)
        monkeypatch.setattr(restorer, "REORDER_IN_MEMORY", 64 * 1024)
    inbox = Inbox(2000, seed=1)
    first = inbox.export(tmp_path / "first.zip")
    inbox.reply(150)
    second = inbox.export(tmp_path / "second.zip")
    snaps = [vault.snapshot(first), vault.snapshot(second)]

    tree = load_tree(vault.repo, snaps[1].tree)
    messages = next(m for m in tree.members if m.name == "messages.csv")
    part = tree.parts[messages.part]
    assert isinstance(part, Deflated) and isinstance(part.content, Reordered)
    assert encode_tree(tree)["v"] == 2
    for snap, path in zip(snaps, [first, second], strict=True):
        assert restored(vault, snap.short_id, tmp_path) == path.read_bytes()
    assert b"".join(vault.cat(snaps[1].short_id, "messages.csv")) == inbox.csv()
    vault.extract(snaps[1].short_id, tmp_path / "out")
    assert (tmp_path / "out" / "messages.csv").read_bytes() == inbox.csv()
    assert vault.verify(read_data=True).ok


def two_months_of_a_scaled_down_inbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> tuple[Path, Path]:
    """Two exports a month apart (400 replies) of an inbox whose frames are a small part of it,
    as they are of a large one (4 MiB of 900 MB), with room in their dictionaries for all the
    chunks they replace."""
    monkeypatch.setattr(zipingest, "REORDER_MIN_SIZE", 64 * 1024)
    monkeypatch.setattr(blobwriter, "FRAME_TARGET", 64 * 1024)
    monkeypatch.setattr(blobwriter, "DICTIONARY_TARGET", 128 * 1024)
    inbox = Inbox(4000, seed=seed)
    first = inbox.export(tmp_path / "first.zip")
    inbox.reply(400)
    return first, inbox.export(tmp_path / "second.zip")


def second_export_cost(
    tmp_path: Path,
    name: str,
    exports: tuple[Path, Path],
    key_seed: int,
    measure: Callable[[Vault], int],
) -> int:
    """What snapshotting the second export after the first adds, by ``measure``, in a fresh
    vault whose keys come from ``key_seed``; the second export must restore exactly.

    Vaults compared get the same keys: what a change costs depends on where the chunker cuts
    (from 220 to 600 KB for the file order of the inbox above), and a comparison is of the
    change alone."""
    first, second = exports
    env = Environment(rng=random.Random(key_seed).randbytes, state_dir=tmp_path / name)
    vault = Vault.init(str(tmp_path / name / "vault"), b"pass", env)
    vault.snapshot(first)
    before = measure(vault)
    snap = vault.snapshot(second)
    restored = tmp_path / name / "restored.zip"
    vault.restore(snap.short_id, restored)
    assert restored.read_bytes() == second.read_bytes()
    return measure(vault) - before


def vault_bytes(vault: Vault) -> int:
    return sum(p.stat().st_size for p in Path(vault.location).rglob("*") if p.is_file())


def frame_bytes(vault: Vault) -> int:
    """The stored size of every frame (vault files are padded to coarser sizes)."""
    packs = vault.repo.reload_index().packs.values()
    return sum(frame.length for frames in packs for frame in frames)


@pytest.mark.parametrize("key_seed", [1, 2])
def test_conversations_moving_to_the_top_are_not_stored_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_seed: int
) -> None:
    exports = two_months_of_a_scaled_down_inbox(tmp_path, monkeypatch, seed=2)
    reordered = second_export_cost(tmp_path, "reordered", exports, key_seed, vault_bytes)
    monkeypatch.setattr(zipingest, "REORDER_MIN_SIZE", 1 << 62)
    in_file_order = second_export_cost(tmp_path, "file-order", exports, key_seed, vault_bytes)
    print(f"second export added {reordered} bytes, {in_file_order} in file order")
    assert reordered < 0.3 * in_file_order


def compacted_frame_bytes(vault: Vault) -> int:
    vault.compact()
    return frame_bytes(vault)


def test_rewritten_chunks_of_a_large_export_are_squeezed_by_compact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A month of a large inbox, scaled down: the new messages land in chunks rewritten all
    # over messages.csv, compressed against the chunks they replace. Snapshot stores them
    # at the fast level; compact squeezes them against the same dictionaries.
    exports = two_months_of_a_scaled_down_inbox(tmp_path, monkeypatch, seed=3)
    squeezed = second_export_cost(tmp_path, "squeezed", exports, 5, compacted_frame_bytes)
    fast = second_export_cost(tmp_path, "fast", exports, 5, frame_bytes)
    print(f"second export's frames: {squeezed} bytes compacted, {fast} as the snapshot stored")
    assert squeezed < 0.95 * fast


@pytest.fixture(scope="module")
def two_months(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tuple(generate_series(tmp_path_factory.mktemp("series"), months=2, scale=0.3, seed=19))


def messages_size(export: Path) -> int:
    with zipfile.ZipFile(export) as z:
        return z.getinfo("messages.csv").file_size


@pytest.mark.parametrize("growing", [True, False], ids=["growing", "shrinking"])
def test_messages_crossing_the_reorder_size_are_not_stored_again(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    two_months: tuple[Path, Path],
    growing: bool,
) -> None:
    # A member keeps its first version's layout: switching it would find no earlier chunks in
    # the same order to compress against and store all of messages.csv again (month 54 of
    # exportgen's small series, where messages.csv passes REORDER_MIN_SIZE).
    exports = two_months if growing else two_months[::-1]
    first, second = (messages_size(export) for export in exports)
    assert (first < second) == growing
    monkeypatch.setattr(zipingest, "REORDER_MIN_SIZE", max(first, second))
    crossing = second_export_cost(tmp_path, "crossing", exports, 7, vault_bytes)
    monkeypatch.setattr(zipingest, "REORDER_MIN_SIZE", 1 << 62 if growing else 0)
    one_layout = second_export_cost(tmp_path, "one-layout", exports, 7, vault_bytes)
    print(f"second export added {crossing} bytes crossing the size, {one_layout} in one layout")
    assert crossing <= 1.1 * one_layout
