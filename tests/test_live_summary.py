"""A snapshot's summary is counted from the content it stores, in the same pass: it equals the
summary of the zip read on its own (export_of_file) for every era, quirk and zip producer, for
a first and a monthly snapshot, and the zip's members are not read a second time for it."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO, Any

import pytest
from lkvault.vault import Vault
from lkvault.vault.operations.export_sources import export_of_file

from bench.exportgen import QUIRKS, generate_series


def assert_summary_as_of_the_zip(vault: Vault, path: Path) -> None:
    snap = vault.snapshot(path)
    document, warnings = export_of_file(path, path.name)
    assert snap.export == document
    assert snap.warnings[len(snap.warnings) - len(warnings) :] == warnings


@pytest.mark.parametrize(
    ("era", "producer", "quirks"),
    [
        ("2025", "python", ()),
        ("2025", "python", tuple(sorted(QUIRKS))),
        ("2025", "7z", ("no-profile", "legacy-endorsements")),  # kept compressed: no proof
        ("2025", "stored", ("no-messages",)),
        ("2018", "python", ()),  # UTF-16 members, tab-separated
        ("2018", "infozip-9", ()),
    ],
)
def test_a_snapshots_summary_is_the_summary_of_its_zip(
    vault: Vault, tmp_path: Path, era: str, producer: str, quirks: tuple[str, ...]
) -> None:
    if producer == "7z" and not Path("/usr/bin/7z").exists():
        pytest.skip("7z is not installed")
    # The second month reuses the members that did not change (they are not inflated).
    for path in generate_series(
        tmp_path / "exports", months=2, scale=0.15, era=era, producer=producer, quirks=quirks
    ):
        assert_summary_as_of_the_zip(vault, path)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_members_in_other_encodings_damaged_or_repeated(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "Basic_LinkedInDataExport_03-01-2025.zip"
    connections = (
        "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
        + "".join(f"Zo\xeb,N{n},,,Caf\xe9,Chef,01 Jan 2020\n" for n in range(3000))
    ).encode("cp1252")  # far past the first blocks, a byte UTF-8 does not have
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Connections.csv", connections)
        archive.writestr("Invitations.csv", b'From,To,Sent At\n"Ada,Grace\n')  # cut in a quote
        archive.writestr("Positions.csv", b"Company Name,Title\nA,B\n")
        archive.writestr("Positions.csv", b"Company Name,Title\nA,B\nC,D\n")  # read: the last
        archive.writestr("Profile.csv", b"First Name,Last Name,Headline\nAda,L,Analyst\n")
    assert_summary_as_of_the_zip(vault, path)
    assert vault.snapshots()[-1].export["counts"]["connections"] == 3000


@pytest.mark.parametrize(
    "messages",
    [
        # The C scanner gives up megabytes in (not UTF-8): counted again from the zip.
        b"CONVERSATION ID,FROM,TO,CONTENT\n"
        + b"".join(b"c%d,Ann,Bo,%s\n" % (n // 7, b"x" * 300) for n in range(20000))
        + b"c\xe9,Ren\xe9,Bo,caf\xe9\n",
        # Given up at once, the pipe still being fed megabytes: counted again from the zip.
        b"CONVERSATION ID,FROM,TO,CONTENT\nc\xe9,Ren\xe9,Bo,caf\xe9\n"
        + b"".join(b"c%d,Ann,Bo,%s\n" % (n // 7, b"x" * 300) for n in range(20000)),
        # Given up at the header (a preamble): the bytes read from the pipe are read again.
        b'Notes:\nhello\nCONVERSATION ID,FROM,TO,CONTENT\nc1,Ann,Bo,hi\nc2,Ann,Cy,"a\nb"\n',
    ],
    ids=["not-utf8-far-in", "not-utf8-at-once", "preamble"],
)
def test_messages_the_c_scanner_leaves_to_python_count_the_same(
    vault: Vault, tmp_path: Path, messages: bytes
) -> None:
    path = tmp_path / "Basic_LinkedInDataExport_03-01-2025.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("messages.csv", messages)
        archive.writestr("Profile.csv", b"First Name,Last Name,Headline\nAda,L,Analyst\n")
    assert_summary_as_of_the_zip(vault, path)
    assert vault.snapshots()[-1].export["counts"]["messages"] in (2, 20001)


def test_the_zip_is_not_read_again_for_the_summary(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = generate_series(tmp_path / "exports", months=2, scale=0.15)
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def recording_open(self: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> IO[bytes]:
        opened.append(name if isinstance(name, str) else name.filename)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    snap = vault.snapshot(first)
    assert snap.export["counts"]["messages"] > 0
    assert opened == [], "every member was counted as it was stored"
    vault.snapshot(second)
    assert "messages.csv" not in opened, "a changed member is counted as it is stored"
    assert opened, "members reused from the first snapshot are read from the zip"
