"""Dictionary frames: an edited row costs bytes, not a chunk; restores stay exact; a damaged or
hostile dictionary is refused and blamed on every snapshot that needs it."""

from __future__ import annotations

import dataclasses
import random
import threading
import zipfile
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import pytest
import zstandard
from conftest import PASSPHRASE
from lkvault.vault import Environment, IntegrityError, Vault
from lkvault.vault.format.crypto import BlobType
from lkvault.vault.repository import (
    blobreader,
    blobwriter,
    decodesets,
    framecache,
    frameopener,
    staging,
)
from lkvault.vault.repository.index import FrameRef, Index, pack_name
from lkvault.vault.repository.pack import (
    MAX_DICT_DEPTH,
    BlobEntry,
    BlobRef,
    FrameEntry,
    open_pack_header,
)


def connections_csv(rows: list[str]) -> bytes:
    header = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
    return (header + "".join(rows)).encode()


def make_rows(count: int, seed: int = 7) -> list[str]:
    r = random.Random(seed)
    words = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka"]
    rows = []
    for i in range(count):
        first = "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)).title()
        last = "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(9)).title()
        url = f"https://www.linkedin.com/in/{first.lower()}-{last.lower()}-{r.getrandbits(40):x}"
        rows.append(
            f"{first},{last},{url},,{r.choice(words)} {r.getrandbits(24):x},"
            f"Engineer {i},{r.randint(1, 28):02d} Jan {r.randint(2005, 2025)}\n"
        )
    return rows


def export_zip(path: Path, rows: list[str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Connections.csv", connections_csv(rows))
        z.writestr("Profile.csv", "First Name,Last Name,Headline\nAda,Lovelace,Analyst\n")
    return path


def edited(rows: list[str], every: int, month: int) -> list[str]:
    """Rows with one in ``every`` changed in place (a new position), as a month goes by."""
    out = list(rows)
    for i in range(month * 13 % every, len(out), every):
        first, last, url, email, company, _, connected = out[i].rstrip("\n").split(",")
        out[i] = f"{first},{last},{url},{email},{company},Director {month},{connected}\n"
    return out


def monthly_rows(months: int) -> list[list[str]]:
    """``months`` versions of a table, each with one row in 300 edited since the month before."""
    versions = [make_rows(6000)]
    for month in range(1, months):
        versions.append(edited(versions[-1], 300, month))
    return versions


def store_monthly_edits(vault: Vault, tmp_path: Path, months: int) -> list[Path]:
    """Snapshot the exports of ``monthly_rows(months)``."""
    paths = []
    for month, rows in enumerate(monthly_rows(months)):
        paths.append(export_zip(tmp_path / f"m{month}.zip", rows))
        vault.snapshot(paths[-1])
    return paths


def restored_bytes(vault: Vault, ref: str, tmp_path: Path) -> bytes:
    out = tmp_path / f"restored-{ref}.zip"
    vault.restore(ref, out, force=True)
    return out.read_bytes()


def dictionary_frames(vault: Vault) -> list[FrameEntry]:
    return vault.repo.reload_index().dictionary_frames()


def test_scattered_edits_cost_a_fraction_of_their_chunks(vault: Vault, tmp_path: Path) -> None:
    rows = make_rows(12000)
    first = vault.snapshot(export_zip(tmp_path / "a.zip", rows))
    second_path = export_zip(tmp_path / "b.zip", edited(rows, 400, 1))
    second = vault.snapshot(second_path)
    # 30 edits, each in a different ~16 KiB chunk: ~480 KiB of new chunks, nearly all of it
    # already in the vault in the chunks they replace.
    assert second.stats["new_bytes"] > 300_000
    assert second.stats["stored_bytes"] < 30_000
    frames = dictionary_frames(vault)
    assert frames and all(f.depth == 1 for f in frames)
    assert restored_bytes(vault, first.short_id, tmp_path) == (tmp_path / "a.zip").read_bytes()
    assert restored_bytes(vault, second.short_id, tmp_path) == second_path.read_bytes()
    assert vault.verify(read_data=True).ok


def test_chains_grow_one_level_a_month_and_stop_at_the_limit(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobwriter, "MAX_DICT_DEPTH", 2)
    paths = store_monthly_edits(vault, tmp_path, months=5)
    depths = [f.depth for f in dictionary_frames(vault)]
    assert max(depths) == 2 and 1 in depths
    vault.repo.reload_index()
    for snap, path in zip(vault.snapshots(), paths, strict=True):
        assert restored_bytes(vault, snap.short_id, tmp_path) == path.read_bytes()
    assert vault.verify(read_data=True).ok


def test_a_deep_chain_is_decoded_once_per_frame_however_small_the_cache(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A year of monthly edits makes chains 11 frames deep. Reading the newest frames with a
    # cache of one frame must decode each frame of a chain once: decoding blob by blob
    # through the cache took minutes once chains outgrew it.
    paths = store_monthly_edits(vault, tmp_path, months=12)
    repo = vault.repo
    deepest = max(dictionary_frames(vault), key=lambda f: f.depth)
    assert deepest.depth >= 8
    decoded: list[bytes] = []
    real_open = frameopener.open_frame

    def counting_open(keys, entry, sealed, dictionary=None):  # type: ignore[no-untyped-def]
        decoded.append(entry.id)
        return real_open(keys, entry, sealed, dictionary)

    monkeypatch.setattr(frameopener, "open_frame", counting_open)
    repo.use_index(repo.index)  # an empty cache
    monkeypatch.setattr(framecache, "FRAME_CACHE_BYTES", 1)  # then one frame at a time
    pack_id = next(p for p, frames in repo.index.packs.items() if deepest in frames)
    content = repo.reader.read_frame(FrameRef(pack_id, deepest))
    assert len(content) == deepest.raw_size
    assert len(decoded) == len(set(decoded)) >= deepest.depth + 1
    # and the newest export restores exactly with that cache
    assert restored_bytes(vault, "latest", tmp_path) == paths[-1].read_bytes()


def frames_decoded_to_read(vault: Vault) -> list[int]:
    """For each frame, how many frames reading it decodes: itself and, transitively, every
    frame holding a blob of its dictionary."""
    index = vault.repo.index
    memo: dict[bytes, set[bytes]] = {}

    def needed(entry: FrameEntry) -> set[bytes]:
        if entry.id not in memo:
            found = {entry.id}
            for ref in entry.dictionary:
                location = index.get(ref.id)
                assert location is not None
                found |= needed(location.frame.entry)
            memo[entry.id] = found
        return memo[entry.id]

    return [len(needed(f)) for frames in index.packs.values() for f in frames]


def test_reading_a_frame_decodes_a_bounded_number_of_frames(
    tmp_path: Path, env: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    unbounded = Vault.init(str(tmp_path / "unbounded"), PASSPHRASE, env)
    store_monthly_edits(unbounded, tmp_path, months=6)
    assert max(frames_decoded_to_read(unbounded)) > 3

    monkeypatch.setattr(decodesets, "MAX_DECODE_FRAMES", 3)
    vault = Vault.init(str(tmp_path / "bounded"), PASSPHRASE, env)
    paths = store_monthly_edits(vault, tmp_path, months=6)
    assert max(frames_decoded_to_read(vault)) == 3
    vault.repo.reload_index()
    for snap, path in zip(vault.snapshots(), paths, strict=True):
        assert restored_bytes(vault, snap.short_id, tmp_path) == path.read_bytes()


def test_reading_a_snapshots_tree_decodes_only_earlier_trees(
    tmp_path: Path, env: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every restore, diff and cat starts by reading the tree: in frames of their own, trees
    # are compressed against earlier trees, not behind the data chunks' chains.
    monkeypatch.setattr(blobwriter, "FRAME_TARGET", 64 * 1024)
    vault = Vault.init(str(tmp_path / "vault"), PASSPHRASE, env)
    store_monthly_edits(vault, tmp_path, months=5)
    index = vault.repo.reload_index()
    frames = [frame for entries in index.packs.values() for frame in entries]
    deepest = max(frames, key=lambda frame: frame.depth)
    assert {blob.type for blob in deepest.blobs} == {BlobType.DATA}
    assert deepest.depth == 4  # each month's data compressed against the month before

    tree_frame = index.get(vault.snapshots()[-1].tree).frame.entry
    chain = [tree_frame]
    while chain[-1].dictionary:
        chain.extend(index.get(ref.id).frame.entry for ref in chain[-1].dictionary)
    assert all(blob.type == BlobType.TREE for frame in chain for blob in frame.blobs)
    assert all(ref.type == BlobType.TREE for frame in chain for ref in frame.dictionary)
    assert tree_frame.dictionary  # compressed against the earlier tree


def test_restore_and_verify_decode_each_frame_of_the_chains_once(
    tmp_path: Path, env: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobwriter, "FRAME_TARGET", 64 * 1024)
    vault = Vault.init(str(tmp_path / "vault"), PASSPHRASE, env)
    paths = store_monthly_edits(vault, tmp_path, months=6)
    assert max(frames_decoded_to_read(vault)) >= 6
    monkeypatch.setattr(framecache, "FRAME_CACHE_BYTES", 1)  # no help from the cache
    decoded: list[bytes] = []
    original = frameopener.open_frame

    def counting(keys, entry, sealed, dictionary=None):  # noqa: ANN001, ANN202
        decoded.append(entry.id)
        return original(keys, entry, sealed, dictionary)

    monkeypatch.setattr(frameopener, "open_frame", counting)

    def most_decodes_of_a_frame(run: Callable[[Vault], object]) -> int:
        decoded.clear()
        run(Vault.open(vault.location, PASSPHRASE, env))  # a new process: nothing cached
        return max(decoded.count(frame) for frame in decoded)

    sixth = vault.snapshots()[-1].short_id

    def restore(opened: Vault) -> None:
        assert restored_bytes(opened, sixth, tmp_path) == paths[-1].read_bytes()

    # Once to read the trees and their chunk lists, once for the data (the checker decodes
    # each frame once more itself, to check it).
    assert most_decodes_of_a_frame(restore) <= 2
    assert most_decodes_of_a_frame(lambda opened: opened.verify(read_data=True).ok) <= 3
    # A snapshot compresses its new frames against the earlier snapshot's chunks: about one
    # decode per frame (trees of earlier snapshots are read before the stage; without the
    # stage it took some 50 per frame).
    newer = export_zip(tmp_path / "newer.zip", edited(monthly_rows(6)[-1], 170, 9))
    most_decodes_of_a_frame(lambda opened: opened.snapshot(newer))
    assert len(decoded) <= 2 * len(set(decoded))

    monkeypatch.setattr(
        blobreader.BlobReader, "staged", lambda self, ids, pool=None, **_: nullcontext()
    )
    assert most_decodes_of_a_frame(restore) > 2, "without the stage, chains are decoded again"


def test_losing_a_dictionary_is_blamed_on_every_snapshot_that_needs_it(
    vault: Vault, tmp_path: Path, env: Environment
) -> None:
    rows = make_rows(8000)
    first = vault.snapshot(export_zip(tmp_path / "a.zip", rows))
    first_packs = set(vault.repo.reload_index().packs)
    second = vault.snapshot(export_zip(tmp_path / "b.zip", edited(rows, 300, 1)))
    index = vault.repo.reload_index()
    frame = dictionary_frames(vault)[0]
    base_pack = index.get(frame.dictionary[0].id).frame.pack_id
    assert base_pack in first_packs
    (Path(vault.location) / pack_name(base_pack)).unlink()

    report = vault.verify(read_data=True)
    assert not report.ok
    blamed = {s for p in report.problems for s in p.snapshots}
    assert {first.short_id, second.short_id} <= blamed
    reopened = Vault.open(vault.location, PASSPHRASE, env)  # a new process: nothing cached
    with pytest.raises(IntegrityError):
        reopened.restore(second.short_id, tmp_path / "never.zip")
    assert not (tmp_path / "never.zip").exists()


def test_a_dictionary_chain_that_loops_is_refused(vault: Vault, tmp_path: Path) -> None:
    rows = make_rows(8000)
    vault.snapshot(export_zip(tmp_path / "a.zip", rows))
    vault.snapshot(export_zip(tmp_path / "b.zip", edited(rows, 300, 1)))
    index = vault.repo.reload_index()
    frame = dictionary_frames(vault)[0]
    base = index.get(frame.dictionary[0].id).frame.entry
    # A hostile index claims the base frame is as deep as the frame that needs it.
    hostile = Index()
    for pack_id, frames in index.packs.items():
        hostile.add_pack(pack_id, [_with_depth(f, frame.depth) if f is base else f for f in frames])
    vault.repo.use_index(hostile)
    with pytest.raises(IntegrityError, match="not shallower"):
        vault.repo.reader.dictionary_of(frame)


def _with_depth(entry: FrameEntry, depth: int) -> FrameEntry:
    return FrameEntry(
        entry.id,
        entry.offset,
        entry.length,
        entry.raw_size,
        entry.blobs,
        [BlobRef(BlobType.DATA, bytes(32))],
        depth,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"depth": MAX_DICT_DEPTH + 1},
        {"depth": 0},
        {"dict": []},
        {"dict": [[2, bytes(32)]]},
        {"dict": [[0, bytes(31)]]},
    ],
)
def test_malformed_dictionary_entries_are_refused(change: dict) -> None:
    document = FrameEntry(bytes(32), 0, 100, 10, [BlobEntry(BlobType.DATA, bytes(32), 0, 10)])
    good = {**document.to_document(), "dict": [[0, bytes(32)]], "depth": 1}
    assert FrameEntry.from_document(good, "test").depth == 1
    with pytest.raises(IntegrityError):
        FrameEntry.from_document({**good, **change}, "test")
    without_dict = {k: v for k, v in good.items() if k != "dict"}
    with pytest.raises(IntegrityError):
        FrameEntry.from_document(without_dict, "test")


def test_a_version_1_pack_header_cannot_hide_a_dictionary_frame(
    vault: Vault, tmp_path: Path
) -> None:
    rows = make_rows(8000)
    vault.snapshot(export_zip(tmp_path / "a.zip", rows))
    vault.snapshot(export_zip(tmp_path / "b.zip", edited(rows, 300, 1)))
    from lkvault.vault.format import codec
    from lkvault.vault.format.crypto import ObjectType, seal
    from lkvault.vault.repository.pack import documents_version

    index = vault.repo.reload_index()
    pack_id, frames = next((p, f) for p, f in index.packs.items() if documents_version(f) == 2)
    keys = vault.repo.keys
    plaintext = codec.encode_document({"v": 1, "frames": [f.to_document() for f in frames]})
    sealed = seal(keys, ObjectType.PACK_HEADER, pack_id, plaintext, vault.repo.rng)
    end = sum(f.length for f in frames)
    with pytest.raises(IntegrityError):
        open_pack_header(keys, pack_id, sealed, end)


def test_dictionary_vector_decodes_with_plain_zstd() -> None:
    import json

    vector = json.loads((Path(__file__).parent / "vectors" / "format.json").read_text())[
        "dictionary_frame"
    ]
    plaintext = bytes.fromhex(vector["plaintext"])
    assert plaintext[0] == 2
    length = int.from_bytes(plaintext[1:5], "little")
    dictionary = b"".join(bytes.fromhex(b) for b in vector["dictionary_blobs"])
    raw = zstandard.ZstdCompressionDict(dictionary, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    content = zstandard.ZstdDecompressor(dict_data=raw).decompress(plaintext[5 : 5 + length])
    assert content == bytes.fromhex(vector["content"])


def test_the_chains_a_restore_stages_are_decoded_on_the_workers(
    tmp_path: Path, env: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames of one depth of the dictionary chains are decoded on the workers' threads at
    once, not one after the other on the caller's, and the restore is still exact."""
    monkeypatch.setattr(blobwriter, "FRAME_TARGET", 64 * 1024)
    vault = Vault.init(str(tmp_path / "vault"), PASSPHRASE, env)
    paths = store_monthly_edits(vault, tmp_path, months=3)
    monkeypatch.setattr(framecache, "FRAME_CACHE_BYTES", 1)  # so that the chains are staged
    decoding: set[int] = set()
    original = staging.FrameStage._decode

    def counting(self: staging.FrameStage, ref: object) -> bytes | None:
        decoding.add(threading.get_ident())
        return original(self, ref)  # type: ignore[arg-type]

    monkeypatch.setattr(staging.FrameStage, "_decode", counting)
    opened = Vault.open(vault.location, PASSPHRASE, dataclasses.replace(env, workers=2))
    assert (
        restored_bytes(opened, vault.snapshots()[-1].short_id, tmp_path) == paths[-1].read_bytes()
    )
    assert decoding and threading.get_ident() not in decoding
