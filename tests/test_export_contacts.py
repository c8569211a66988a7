"""Connections as contacts: the vCard is read back by an independent parser (vobject)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from lkvault.vault.export.contacts import CSV_HEADER, contacts_csv, vcards
from lkvault.vault.export.model import Connection

vobject = pytest.importorskip("vobject", reason="vobject is the independent vCard parser")

PEOPLE = [
    Connection(
        "Zoë",
        'Müller, Jr.; "the 2nd" \\ ok',
        "https://www.linkedin.com/in/zoe-muller",
        "zoe@example.com",
        "Acme, Inc.; Ltd",
        "CTO; Founder\nand cook",
        date(2024, 11, 14),
    ),
    Connection(
        "娜", "陈" * 40, "https://www.linkedin.com/in/%e5%a8%9c", None, "北京科技", None, None
    ),
    Connection("", "", None, None, None, None, date(2024, 10, 2)),  # a hidden member's row
]


def test_vcards_parse_back_with_every_field_intact() -> None:
    text = vcards(PEOPLE)
    cards = list(vobject.readComponents(text))
    assert len(cards) == 2  # the row without a name is left out
    zoe, na = cards
    assert zoe.fn.value == 'Zoë Müller, Jr.; "the 2nd" \\ ok'
    assert zoe.n.value.family == 'Müller, Jr.; "the 2nd" \\ ok'
    assert zoe.n.value.given == "Zoë"
    assert zoe.org.value == ["Acme, Inc.; Ltd"]
    assert zoe.title.value == "CTO; Founder\nand cook"
    assert zoe.email.value == "zoe@example.com"
    assert zoe.url.value == "https://www.linkedin.com/in/zoe-muller"
    assert zoe.note.value == "Connected on LinkedIn on 2024-11-14"
    assert na.fn.value == "娜 " + "陈" * 40
    assert na.org.value == ["北京科技"]
    assert "email" not in na.contents and "title" not in na.contents
    assert na.note.value == "LinkedIn connection"


def test_vcard_lines_are_folded_at_75_octets_without_splitting_characters() -> None:
    raw = vcards(PEOPLE).encode("utf-8")
    assert raw.endswith(b"END:VCARD\r\n")
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert any(line.startswith(b" ") for line in lines)  # the long CJK name was folded
    for line in lines:
        line.decode("utf-8")  # every physical line is whole UTF-8: no character was cut
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_csv_has_google_contacts_columns_and_round_trips() -> None:
    rows = list(csv.DictReader(io.StringIO(contacts_csv(PEOPLE), newline="")))
    assert list(rows[0]) == list(CSV_HEADER)
    assert len(rows) == 2
    assert rows[0]["First Name"] == "Zoë"
    assert rows[0]["Last Name"] == 'Müller, Jr.; "the 2nd" \\ ok'
    assert rows[0]["Organization Name"] == "Acme, Inc.; Ltd"
    assert rows[0]["Organization Title"] == "CTO; Founder\nand cook"
    assert rows[0]["E-mail 1 - Value"] == "zoe@example.com"
    assert rows[0]["Website 1 - Value"] == "https://www.linkedin.com/in/zoe-muller"
    assert rows[0]["Notes"] == "Connected on LinkedIn on 2024-11-14"
    assert rows[1]["E-mail 1 - Value"] == "" and rows[1]["E-mail 1 - Label"] == ""


def test_csv_cells_that_look_like_formulas_stay_text() -> None:
    hostile = Connection('=HYPERLINK("http://x")', "+1", None, None, "@Corp", "-CEO", None)
    rows = list(csv.DictReader(io.StringIO(contacts_csv([hostile]), newline="")))
    values = [rows[0][CSV_HEADER[i]] for i in range(4)]
    assert values == ['\'=HYPERLINK("http://x")', "'+1", "'@Corp", "'-CEO"]


def test_every_csv_column_neutralises_formulas_the_email_and_url_too() -> None:
    hostile = Connection("Eve", "Doe", "=1+1", '=HYPERLINK("https://evil.example")', None, None)
    rows = list(csv.DictReader(io.StringIO(contacts_csv([hostile]), newline="")))
    assert rows[0]["E-mail 1 - Value"] == '\'=HYPERLINK("https://evil.example")'
    assert rows[0]["Website 1 - Value"] == ""  # not a web address: never written as one
    for cell in rows[0].values():
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_a_connection_known_only_by_its_profile_url_is_written_with_what_is_known() -> None:
    url = "https://www.linkedin.com/in/no-name-given"
    known = Connection("", "", url, None, "Initech", None, date(2023, 3, 1))
    (card,) = vobject.readComponents(vcards([known, PEOPLE[2]]))
    assert (card.fn.value, card.url.value, card.org.value) == (url, url, ["Initech"])
    rows = list(csv.reader(io.StringIO(contacts_csv([known, PEOPLE[2]]))))
    assert len(rows) == 2 and rows[1][CSV_HEADER.index("Website 1 - Value")] == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:msgbox(1)",
        "//evil.example/in/x",
        "file:///etc/passwd",
    ],
)
def test_a_profile_url_that_is_not_http_is_never_a_link_in_an_address_book(url: str) -> None:
    person = Connection("Mallory", "Doe", url, None, "Initech", None, date(2024, 1, 2))
    card = vcards([person])
    assert "URL:" not in card and "X-SOCIALPROFILE" not in card
    (parsed,) = vobject.readComponents(card)
    assert parsed.fn.value == "Mallory Doe"
    rows = list(csv.DictReader(io.StringIO(contacts_csv([person]), newline="")))
    assert rows[0]["Website 1 - Value"] == "" and rows[0]["Website 1 - Label"] == ""
