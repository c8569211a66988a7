"""The summary counted from streams at snapshot time equals the one built from full records."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from lkvault.vault.export import load_export, summarize
from lkvault.vault.export.counting import count_export
from lkvault.vault.operations.export_sources import zip_file_members

from bench.exportgen import generate_series

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "Basic_LinkedInDataExport_01-15-2026.zip"


def both_ways(path: Path, name: str | None = None):  # noqa: ANN201
    name = name or path.name
    with zipfile.ZipFile(path) as archive:
        full = load_export(zip_file_members(archive), name)
        streams = {i.filename: (lambda i=i: archive.open(i)) for i in archive.infolist()}
        counted, warnings = count_export(streams, name)
    return (summarize(full) if full.recognised else None), counted, full.warnings, warnings


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


def test_the_sample_export() -> None:
    full, counted, _, _ = both_ways(SAMPLE)
    assert counted == full
    assert counted is not None and counted.counts["connections"] == 344
    assert counted.counts["conversations"] == 359 and counted.counts["messages"] == 1503


@pytest.mark.parametrize("era", ["2025", "2018"])
def test_generated_exports_of_both_eras(tmp_path: Path, era: str) -> None:
    for path in generate_series(tmp_path, months=2, scale=0.3, era=era):
        full, counted, full_warnings, warnings = both_ways(path)
        assert counted == full and counted is not None
        assert warnings == full_warnings


def test_quirks_preamble_utf16_split_files_folder_and_damage(tmp_path: Path) -> None:
    preamble = (
        'Notes:\n"When exporting your connection data, you may notice that some of the email '
        'addresses are missing."\n\nFirst Name,Last Name,URL,Email Address,Company,Position,'
        "Connected On\nAda,Lovelace,https://www.linkedin.com/in/ada,,Engines,Analyst,"
        "01 Jan 2020\n,,,,,,02 Feb 2021\n"
    )
    messages_2018 = "From\tTo\tDate\tSubject\tContent\tDirection\tFolder\r\n" + "".join(
        f"Ada Lovelace\tCharles Babbage, FRS\t2018-01-0{i} 10:00\t\tHello {i}\tOUTGOING\tINBOX\r\n"
        for i in range(1, 5)
    )
    members = {
        "Export/Connections.csv": preamble.encode(),
        "Export/messages_1.csv": messages_2018.encode("utf-16"),
        "Export/messages_2.csv": (
            "From\tTo\tDate\tSubject\tContent\tDirection\tFolder\r\n"
            'Grace Hopper\tAda Lovelace\t2018-02-01 10:00\t\t"multi\nline"\tINCOMING\tINBOX\r\n'
        ).encode("utf-16"),
        "Export/Profile.csv": b"First Name,Last Name,Headline\nAda,Lovelace,Analyst, engines\n",
        "Export/Invitations.csv": b"",
        "Export/Positions.csv": b"this is not a table at all\n",
    }
    path = write_zip(tmp_path / "Basic_LinkedInDataExport_03-01-2018.zip", members)
    full, counted, full_warnings, warnings = both_ways(path)
    assert counted == full
    assert counted is not None and counted.counts["messages"] == 5
    assert counted.counts["conversations"] == 2 and counted.counts["connections"] == 2
    assert len(warnings) == len(full_warnings) == 1 and "Positions.csv" in warnings[0]


def test_a_zip_that_is_not_an_export(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "photos.zip", {"a.jpg": b"\xff\xd8\xff", "notes.txt": b"hi"})
    full, counted, _, _ = both_ways(path)
    assert full is None and counted is None


def test_windows_1252_and_damaged_utf16_members_count_as_they_parse(tmp_path: Path) -> None:
    header = "CONVERSATION ID,FROM,TO,DATE,CONTENT\n"
    rows = "".join(f"c{n % 7},Ann,Bo,2025-01-02 03:04:05 UTC,row {n}\n" for n in range(3000))
    members = {
        # Not UTF-8 only far in: the whole member is read again as Windows-1252.
        "messages.csv": (header + rows).encode() + b"c\xe9,Ren\xe9,Bo,,caf\xe9\n",
        "Profile.csv": "First Name,Last Name,Headline\nRené,Müller,Ingénieur\n".encode("cp1252"),
        # A UTF-16 file cut in the middle of a character: a warning, and no rows counted.
        "Connections.csv": "First Name,Last Name\nAda,Lovelace\n".encode("utf-16")[:-1],
    }
    path = write_zip(tmp_path / "Basic_LinkedInDataExport_03-01-2026.zip", members)
    full, counted, full_warnings, warnings = both_ways(path)
    assert counted == full and counted is not None
    assert counted.headline == "Ingénieur"
    assert (counted.counts["messages"], counted.counts["conversations"]) == (3001, 8)
    assert counted.counts["connections"] == 0
    assert warnings == full_warnings and len(warnings) == 1 and "Connections.csv" in warnings[0]


def test_an_absurd_number_of_conversations_is_counted_up_to_a_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Exact distinct counting holds every id; a huge export of one-message conversations
    # must not make a snapshot take gigabytes, so past the limit the summary says so.
    from lkvault.vault.export import counting

    monkeypatch.setattr(counting, "MAX_COUNTED_CONVERSATIONS", 50)
    header = "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,DATE,SUBJECT,CONTENT\n"
    rows = "".join(
        f"2-{i:08d},,Ada,https://www.linkedin.com/in/ada,Bo,2025-03-01 09:00:00 UTC,,hi {i}\n"
        for i in range(120)
    )
    path = write_zip(
        tmp_path / "Basic_LinkedInDataExport_03-15-2025.zip",
        {"messages.csv": (header + rows).encode()},
    )
    _, summary, _, warnings = both_ways(path)
    assert summary is not None
    assert summary.counts["messages"] == 120
    assert summary.counts["conversations"] == 50
    assert any("more than 50 conversations" in w for w in warnings)


def test_conversations_are_counted_exactly_in_22_bytes_each() -> None:
    """Issue 18 (memory): a large export's 400,000 conversation hashes took 29 MB in a set,
    a fifth of a snapshot's peak; they are counted as exactly in a table of 8-byte slots at
    least 3/8 full. Hashes of every kind count: negative ones, 0, and repeats."""
    from random import Random

    from lkvault.vault.export.distinct import DistinctHashes

    rng = Random(18)
    values = [rng.getrandbits(64) - (1 << 63) for _ in range(300_000)]
    values += [0, 1, -1, 2**63 - 1, -(2**63)]
    values += values[:1000]  # repeats
    counted = DistinctHashes()
    for value in values:
        counted.add(value)
    assert len(counted) == len({v & 0xFFFFFFFFFFFFFFFF or 1 for v in values})
    assert counted.nbytes <= 22 * len(counted) + 8 * 1024
    merged, more = DistinctHashes(), DistinctHashes()
    for value in values[:200_000]:
        merged.add(value)
    for value in values[150_000:]:
        more.add(value)
    merged.update(more)
    assert len(merged) == len(counted)
