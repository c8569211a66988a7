"""Archive-aware snapshots through the vault: byte-exact restores for every zip producer,
contents deduplicated across exports, members read out safely, bad zips refused cleanly."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest
from lkvault.vault import BadInput, Vault
from lkvault.vault.format.tree import Deflated, Stream
from lkvault.vault.operations.restorer import load_tree
from zipmakers import (
    PRODUCERS,
    Crafted,
    craft_zip,
    deflated,
    make_zip,
    missing_tool,
    standard_members,
    zeros_stream,
)

# Which producers stock zlib reproduces (docs/building-blocks.md §5): members stored by content.
REPRODUCED = {
    "python",
    "python-zip64",
    "python-comment",
    "python-stream",
    "python-stream-zip64",
    "python-sfx",
    "java",
    "zip-9",
}


def restored(vault: Vault, ref: str, tmp_path: Path) -> bytes:
    out = tmp_path / f"restored-{ref}.zip"
    vault.restore(ref, out, force=True)
    return out.read_bytes()


@pytest.mark.parametrize("producer", sorted(PRODUCERS))
def test_every_producer_restores_byte_for_byte(vault: Vault, tmp_path: Path, producer: str) -> None:
    reason = missing_tool(producer)
    if reason:
        pytest.skip(reason)
    path = make_zip(producer, tmp_path)
    snap = vault.snapshot(path)
    assert snap.kind == "zip"
    assert snap.sha256 == hashlib.sha256(path.read_bytes()).digest()
    assert restored(vault, snap.short_id, tmp_path) == path.read_bytes()
    tree = load_tree(vault.repo, snap.tree)
    files = [m for m in tree.members if not m.is_dir and m.size > 0]
    deflated_parts = [m for m in files if isinstance(tree.parts[m.part], Deflated)]
    if producer in REPRODUCED:
        assert len(deflated_parts) == len(files), "every member is stored by its content"
        assert not any("will not share storage" in w for w in snap.warnings)
    elif producer == "python-stored":
        assert all(not m.compressed and isinstance(tree.parts[m.part], Stream) for m in files)
    elif producer == "7z":
        assert not deflated_parts and all(m.compressed for m in files)
        assert any("will not share storage" in w for w in snap.warnings)
    elif producer == "zip-6":
        small = [m for m in files if m.size <= 40_000]
        large = [m for m in files if m.size >= 2_000_000]  # diverges from zlib
        assert all(isinstance(tree.parts[m.part], Deflated) for m in small)
        assert all(m.compressed for m in large)
    assert vault.verify(read_data=True).ok


def monthly_exports(tmp_path: Path, months: int) -> list[Path]:
    """Exports that grow at the top of each CSV, newest rows first, as LinkedIn writes them."""
    base = dict((name, data) for name, data in standard_members() if data is not None)
    paths = []
    for month in range(months):
        members = []
        for name, data in base.items():
            new_rows = b"".join(
                f"New,Person{month}-{i},Co {i},Title,{month + 1} Jan 2026\n".encode()
                for i in range(50 * month)
            )
            members.append((name, new_rows + data))
        path = tmp_path / f"Basic_LinkedInDataExport_0{month + 1}-15-2026.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=(2026, month + 1, 15, 9, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
        paths.append(path)
    return paths


def test_monthly_exports_deduplicate_by_content(vault: Vault, tmp_path: Path) -> None:
    paths = monthly_exports(tmp_path, 4)
    snaps = [vault.snapshot(p) for p in paths]
    newest_unpacked = sum(len(d) for _, d in standard_members() if d)
    assert snaps[0].stats["new_bytes"] >= newest_unpacked
    files = sum(1 for _, d in standard_members() if d)
    for month, snap in enumerate(snaps[1:], start=1):
        # The zip bytes differ completely month to month; what is new is the new rows plus, in
        # each file, the chunks around them (at most two 64 KiB chunks), plus the tree.
        new_rows = files * 50 * month * 40
        assert snap.stats["new_bytes"] < new_rows + files * 2 * 65536 + 65536
        assert snap.stats["new_bytes"] < 0.25 * newest_unpacked
    for snap, path in zip(snaps, paths, strict=True):
        assert restored(vault, snap.short_id, tmp_path) == path.read_bytes()


def test_unchanged_members_are_not_inflated_again(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lkvault.vault.ingest import zipingest

    path = make_zip("python", tmp_path)
    vault.snapshot(path)
    inflated: list[str] = []
    original = zipingest.MemberReader

    class Counting(original):  # type: ignore[misc, valid-type]
        def __init__(self, member, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
            inflated.append(member.name)
            super().__init__(member, *args, **kwargs)

    monkeypatch.setattr(zipingest, "MemberReader", Counting)
    # Same members, new timestamps: the zip's bytes differ but every member's compressed bytes
    # are the same, so nothing needs inflating.
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(tmp_path / "again.zip", "w") as new:
        for info in old.infolist():
            info.date_time = (2026, 3, 1, 0, 0, 0)
            new.writestr(info, old.read(info.filename), compress_type=info.compress_type)
    snap = vault.snapshot(tmp_path / "again.zip")
    assert inflated == []
    # Only the new tree is new; it lists every chunk of the first snapshot (50 to 500 of them
    # depending on the vault's random chunker key) and is compressed against the earlier tree.
    assert snap.stats["new_blobs"] == 1
    assert snap.stats["stored_bytes"] < 2_000
    assert restored(vault, snap.short_id, tmp_path) == (tmp_path / "again.zip").read_bytes()


def test_cat_and_extract(cli, tmp_path: Path) -> None:  # noqa: ANN001
    cli("init")
    path = make_zip("python", tmp_path)
    snap_id = cli("snapshot", str(path)).out.strip()
    members = dict((n, d) for n, d in standard_members() if d is not None)
    out = cli("cat", snap_id[:8], "Connections.csv")
    assert out.code == 0 and out.out.encode() == members["Connections.csv"]
    nested = cli("cat", "latest", "job applications.csv")  # any folder, any case
    assert nested.code == 0 and nested.out.encode() == members["Jobs/Job Applications.csv"]
    as_json = cli("cat", "latest", "Profile.csv", "--json").json()
    assert as_json["text"].encode() == members["Profile.csv"] and as_json["base64"] is None
    missing = cli("cat", "latest", "Nope.csv")
    assert missing.code == 2 and "no member" in missing.err

    target = tmp_path / "extracted"
    assert cli("restore", "latest", "--extract", str(target)).code == 0
    for name, data in members.items():
        assert (target / name).read_bytes() == data
    assert (target / "Articles").is_dir()
    (target / "Profile.csv").write_bytes(b"edited by the user")
    refused = cli("restore", "latest", "--extract", str(target))
    assert refused.code == 2 and "--force" in refused.err
    assert (target / "Profile.csv").read_bytes() == b"edited by the user"
    assert cli("restore", "latest", "--extract", str(target), "--force").code == 0
    assert (target / "Profile.csv").read_bytes() == members["Profile.csv"]


def test_cat_of_a_7zip_member_inflates_kept_bytes(vault: Vault, tmp_path: Path) -> None:
    reason = missing_tool("7z")
    if reason:
        pytest.skip(reason)
    vault.snapshot(make_zip("7z", tmp_path))
    content = b"".join(vault.cat("latest", "messages.csv"))
    assert content == dict(standard_members())["messages.csv"]


def test_extract_never_writes_outside_the_folder(vault: Vault, tmp_path: Path) -> None:
    data = craft_zip(
        [
            deflated("../escape.csv", b"evil"),
            deflated("/etc/absolute.csv", b"evil"),
            deflated("C:\\windows.csv", b"evil"),
            deflated("ok/fine.csv", b"good"),
            deflated("ok/fine.csv", b"second copy"),
        ]
    )
    path = tmp_path / "hostile.zip"
    path.write_bytes(data)
    snap = vault.snapshot(path)
    assert any("'..'" in w for w in snap.warnings) and any("duplicate" in w for w in snap.warnings)
    assert restored(vault, "latest", tmp_path) == data
    target = tmp_path / "deep" / "out"
    _, result = vault.extract("latest", target)
    assert (target / "ok" / "fine.csv").read_bytes() == b"second copy"  # the last, as unzip
    assert not (tmp_path / "deep" / "escape.csv").exists()
    assert sorted(p.name for p in target.rglob("*")) == ["fine.csv", "ok"]
    assert len(result.warnings) == 4


def test_extract_refuses_symlinked_folder_leading_outside(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(craft_zip([deflated("sub/file.csv", b"data")]))
    vault.snapshot(path)
    target = tmp_path / "out"
    target.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (target / "sub").symlink_to(outside)
    _, result = vault.extract("latest", target, force=True)
    assert not (outside / "file.csv").exists()
    assert len(result.failed) == 1 and "'sub' is a file or a link" in result.failed[0]


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("truncated", "truncated"),
        ("bad-size", "inflates to"),
        ("bad-crc", "CRC"),
        ("bomb", "limit"),
    ],
)
def test_bad_zips_are_refused_in_one_line(cli, tmp_path: Path, case: str, fragment: str) -> None:  # noqa: ANN001
    cli("init")
    good = make_zip("python", tmp_path)
    cli("snapshot", str(good))
    if case == "truncated":
        data = good.read_bytes()[:-30]
    elif case == "bad-size":
        member = deflated("Connections.csv", b"x" * 5000)
        member.size = 4000
        data = craft_zip([member])
    elif case == "bad-crc":
        member = deflated("Connections.csv", b"x" * 5000)
        member.crc32 ^= 1
        data = craft_zip([member])
    else:
        bomb = zeros_stream(64)
        data = craft_zip([Crafted(b"bomb.csv", bomb, 0, 16 * 2**30, 8)], zip64=True)
    bad = tmp_path / f"{case}.zip"
    bad.write_bytes(data)
    before = sorted(p.name for p in (tmp_path / "vault" / "snapshots").iterdir())
    result = cli("snapshot", str(bad))
    assert result.code == 2, result.err
    assert fragment.lower() in result.err.lower()
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert "--opaque" in result.err
    after = sorted(p.name for p in (tmp_path / "vault" / "snapshots").iterdir())
    assert after == before  # never a half-written snapshot
    assert cli("verify", "--read-data").code == 0
    # The user can still keep the damaged file exactly as it is.
    kept = cli("snapshot", str(bad), "--opaque")
    assert kept.code == 0
    out = tmp_path / "kept.zip"
    # By its id: 'latest' is the newest LinkedIn export, the good zip.
    assert cli("restore", kept.out.strip(), "-o", str(out)).code == 0
    assert out.read_bytes() == data


def test_non_zip_inputs_are_stored_as_files(vault: Vault, tmp_path: Path) -> None:
    for name, data in [
        ("contacts.vcf", b"BEGIN:VCARD\nFN:Ada\nEND:VCARD\n" * 100),
        ("linkedin_connections_export_microsoft_outlook.csv", b'"Title","First Name"\n'),
        ("random.bin", os.urandom(100_000)),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        snap = vault.snapshot(path)
        assert snap.kind == "file"
        assert restored(vault, snap.short_id, tmp_path) == data
        assert b"".join(vault.cat(snap.short_id, name)) == data


def test_zip_with_junk_between_members_and_a_comment(vault: Vault, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.comment = b"exported by LinkedIn"
        z.writestr("Connections.csv", b"a,b\n" * 10_000)
    data = b"#!/bin/sh junk in front\n" * 100 + buffer.getvalue()
    path = tmp_path / "odd.zip"
    path.write_bytes(data)
    vault.snapshot(path)
    assert restored(vault, "latest", tmp_path) == data
    assert b"".join(vault.cat("latest", "Connections.csv")) == b"a,b\n" * 10_000


def test_a_member_inflating_past_its_claimed_size_is_stopped(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "liar.zip"
    path.write_bytes(craft_zip([Crafted(b"Connections.csv", zeros_stream(256), 0, 1000, 8)]))
    with pytest.raises(BadInput, match="inflates to more"):
        vault.snapshot(path)
    assert vault.snapshots() == []


def test_a_zlib_that_compresses_differently_is_caught_by_member(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lkvault.vault import IntegrityError
    from lkvault.vault.format import deflater
    from lkvault.vault.ingest.deflate import DeflateParams, Recompressor
    from lkvault.vault.operations import restorer

    path = make_zip("python", tmp_path)
    snap = vault.snapshot(path)
    assert snap.zlib == deflater.IMPLEMENTATION

    class OtherZlib(Recompressor):
        """Stands in for a zlib build (zlib-ng, say) whose level 6 differs from stock."""

        def __init__(self, params: DeflateParams) -> None:
            super().__init__(DeflateParams(params.level - 1, params.mem_level))

    monkeypatch.setattr(restorer, "Recompressor", OtherZlib)
    out = tmp_path / "out.zip"
    with pytest.raises(IntegrityError, match="cannot be re-created byte for byte .* --extract"):
        vault.restore("latest", out)
    assert not out.exists()
    _, result = vault.extract("latest", tmp_path / "files")  # the contents are still there
    assert (tmp_path / "files" / "Connections.csv").read_bytes() == dict(standard_members())[
        "Connections.csv"
    ]


def test_every_reader_takes_the_last_of_duplicate_members(vault: Vault, tmp_path: Path) -> None:
    header = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
    first = header + "Ada,Lovelace,,,,,15 Jan 2026\n"
    last = first + "Grace,Hopper,,,,,16 Jan 2026\n"
    path = tmp_path / "Basic_LinkedInDataExport_01-20-2026.zip"
    path.write_bytes(
        craft_zip(
            [
                deflated("Connections.csv", first.encode()),
                deflated("Connections.csv", last.encode()),
            ]
        )
    )
    snap = vault.snapshot(path)
    assert [c.name for c in vault.export(snap).connections] == ["Ada Lovelace", "Grace Hopper"]
    assert b"".join(vault.cat("latest", "Connections.csv")) == last.encode()
    assert b"".join(vault.cat("latest", "connections.csv")) == last.encode()
    _, result = vault.extract("latest", tmp_path / "out")
    assert (tmp_path / "out" / "Connections.csv").read_bytes() == last.encode()
    assert any("earlier copy" in w for w in result.warnings)
