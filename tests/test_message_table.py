"""Messages kept as rows (what lkvault browse reads) give exactly the records that
``load_export`` makes, in every era and quirk: same messages, same order, same warnings."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from lkvault.vault.export import load_export
from lkvault.vault.export.messagetable import MessageList, MessageTable, read_messages
from lkvault.vault.export.records import WANTED
from lkvault.vault.export.tables import read_rows, read_table
from lkvault.vault.operations.export_sources import zip_file_members

from bench.exportgen import generate_export
from tests.test_export_parsing import MESSAGES_2024, PREAMBLE

Members = dict[str, Callable[[], bytes]]

MESSAGES_2018 = (
    '"From"\t"To"\t"Date"\t"Subject"\t"Content"\t"Direction"\t"Folder"\n'
    '"Zoë Müller"\t"Ana Silva"\t"1/8/18, 6:14 PM"\t""\t"Hallo\nzusammen"\t"INCOMING"\t"INBOX"\n'
    '"Ana Silva"\t"Zoë Müller, PhD"\t"1/8/18, 6:20 PM"\t"Re:"\t"Olá"\t"OUTGOING"\t"SENT"\n'
)


def members(files: dict[str, bytes]) -> Members:
    return {name: (lambda data=data: data) for name, data in files.items()}


def assert_same_as_records(files: Members) -> MessageTable:
    table, warnings = read_messages(files)
    export = load_export(files, None)
    assert list(table) == export.messages
    assert [table[n] for n in range(-1, -len(table) - 1, -1)] == export.messages[::-1]
    assert table[1:3] == export.messages[1:3]
    assert warnings == export.warnings
    listed = MessageList(export.messages)
    for columns in (table, listed):
        assert columns.conversation_ids() == [m.conversation_id for m in export.messages]
        assert columns.sent() == [m.sent_at for m in export.messages]
        assert columns.titles() == [m.conversation_title or "" for m in export.messages]
        assert columns.texts() == [
            f"{m.subject} {m.content}" if m.subject else m.content for m in export.messages
        ]
    groups = [2, len(table) - 2] if len(table) > 2 else [len(table)]
    rows = list(range(len(table)))[::-1]
    assert table.participants(rows, groups) == listed.participants(rows, groups)
    assert table.profile_urls(rows, groups) == listed.profile_urls(rows, groups)
    return table


def test_todays_export_with_quotes_line_breaks_and_a_message_without_a_thread() -> None:
    table = assert_same_as_records(members({"messages.csv": MESSAGES_2024.encode()}))
    assert table[1].content == 'Does "Tuesday" work?'
    assert table[2].conversation_id.startswith("lkvault-")  # no id: made from the people
    assert table.participants([3], [1]) == [("Carol Doe", "Ada Example", "Bob Sample")]


def test_the_utf16_tab_separated_messages_of_2018() -> None:
    table = assert_same_as_records(
        members({"Messages.csv": MESSAGES_2018.encode("utf-16")})  # 2018: no conversation id
    )
    assert table[0].content == "Hallo\nzusammen"
    assert table[1].recipients == ("Zoë Müller, PhD",)
    assert table[0].sent_at == datetime(2018, 1, 8, 18, 14, tzinfo=timezone.utc)


def test_preamble_bom_blank_and_short_rows_and_repeated_columns() -> None:
    text = (
        "\ufeff"
        + PREAMBLE
        + "CONVERSATION ID,FROM,TO,DATE,CONTENT,CONTENT\n"
        + "c1,Ann,Bo,2025-01-02 03:04:05 UTC,first,ignored\n"
        + ",,,,,\n"  # blank: dropped
        + "  ,  , ,  ,   \n"  # blank once stripped: dropped
        + "c1,Bo,Ann,2025-02-30 03:04:05 UTC\n"  # short, and a day that does not exist
        + "c2,Cy,Ann,,  spaced  ,x,extra\n"  # undated, a cell beyond the header
    )
    table = assert_same_as_records(members({"messages.csv": text.encode()}))
    assert [m.content for m in table] == ["first", "", "spaced"]
    assert [m.sent_at for m in table][1:] == [None, None]


def test_a_file_that_is_not_utf8_far_from_its_start_is_read_as_windows_1252() -> None:
    header = "CONVERSATION ID,FROM,TO,DATE,CONTENT\n"
    rows = "".join(f"c{n},Ann,Bo,2025-01-02 03:04:05 UTC,row {n}\n" for n in range(3000))
    data = (header + rows).encode() + b"c9,Ren\xe9,Bo,,caf\xe9 \x93quoted\x94\n"
    assert len(data) > 64 * 1024  # beyond the part decoded to find the header
    table = assert_same_as_records(members({"messages.csv": data}))
    assert table[-1].sender == "René" and table[-1].content == "café “quoted”"
    assert read_rows(data, WANTED["messages"]).encoding == "cp1252"


def test_parts_of_different_eras_in_order_and_the_same_warnings() -> None:
    def broken() -> bytes:
        raise OSError("damaged member")

    files = members(
        {
            "messages_1.csv": MESSAGES_2024.encode(),
            "messages_2.csv": b"FROM,TO,DATE,SUBJECT,CONTENT\nEve,Ann,2019-05-06,Hi,Old one\n",
            "messages_3.csv": b"nothing like a header\n",
            "messages_4.csv": b"",
        }
    )
    files["messages_5.csv"] = broken
    table = assert_same_as_records(files)
    assert [m.content for m in table][-1] == "Old one" and len(table) == 5
    assert len(read_messages(files)[1]) == 2


def test_no_messages_at_all() -> None:
    table, warnings = read_messages(members({"Connections.csv": b"First Name,Last Name\n"}))
    assert (len(table), list(table), warnings) == (0, [], [])
    with pytest.raises(IndexError):
        table[0]


def test_rows_are_what_read_table_gives() -> None:
    text = PREAMBLE + MESSAGES_2024 + ",,,,,,,,,,,\n"
    for data in (text.encode(), text.encode("utf-16"), text.encode("cp1252")):
        rows = read_rows(data, WANTED["messages"])
        table = read_table(data, WANTED["messages"])
        assert (rows.columns, rows.encoding) == (table.columns, table.encoding)
        made = [dict(zip(rows.columns, map(str.strip, row), strict=False)) for row in rows.rows]
        assert made == table.rows


@pytest.mark.parametrize("era", ["2025", "2018"])
def test_generated_exports(tmp_path: Path, era: str) -> None:
    when = date(2026, 3, 15) if era == "2025" else date(2018, 11, 4)
    kind = "Basic" if era == "2025" else "Complete"
    path = generate_export(
        tmp_path / f"{kind}_LinkedInDataExport_{when:%m-%d-%Y}.zip",
        date=when,
        scale=0.2,
        seed=11,
        era=era,
    )
    with zipfile.ZipFile(path) as archive:
        table = assert_same_as_records(zip_file_members(archive))
    assert len(table) > 100
