"""Text in an export that attacks whoever shows it (issue 22, items 5 and 11).

The export comes from bench/exportgen.py with the ``hostile`` quirk: names, companies, titles, the
headline, a member's name and the archive's own file name carry terminal control sequences
(clear screen, window title, OSC 52 clipboard writes, OSC 8 links, C1 controls, bidi
overrides), profile URLs with dangerous schemes, and emails and titles that a spreadsheet would
run as formulas. What a user relies on: no control sequence from an export ever reaches their
terminal, whatever the command; the contacts CSV never holds a cell a spreadsheet would run.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from conftest import PASSPHRASE
from lkvault.vault import Environment, Vault

from bench.exportgen import TERMINAL_ATTACKS, generate_export

from .budget import record

# ESC, BEL, the other C0 controls but line breaks and tabs, DEL, C1, and the bidi controls.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
HOSTILE_NAME = "Basic_LinkedInDataExport_02-15-2026 \x1b]0;owned\x07\x1b[2J\u202e.zip"


@pytest.fixture(scope="module")
def made_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A vault holding an ordinary export and, a month later, a hostile one, and the folder
    the hostile one was downloaded to (under a hostile file name)."""
    work = tmp_path_factory.mktemp("hostile-text")
    first = generate_export(
        work / "Basic_LinkedInDataExport_01-15-2026.zip", date=date(2026, 1, 15), scale=0.02
    )
    downloads = work / "downloads"
    second = generate_export(
        downloads / HOSTILE_NAME,
        date=date(2026, 2, 15),
        scale=0.02,
        month_index=1,
        quirks=("hostile",),
    )
    made = Vault.init(str(work / "vault"), PASSPHRASE, Environment(state_dir=work / "state"))
    for path in (first, second):
        made.snapshot(path)
    return work / "vault", downloads


@pytest.fixture
def two_exports(cli: Callable, made_once: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of that vault where the ``cli`` fixture looks for it; returns the downloads."""
    shutil.copytree(made_once[0], tmp_path / "vault")
    return made_once[1]


def assert_no_control(text: str, command: str) -> None:
    found = RAW_CONTROL.search(text)
    assert found is None, (
        f"{command} let {found.group(0)!r} through: {text[found.start() - 40 :]!r}"
    )


COMMANDS = (
    ("list",),
    ("list", "--json"),
    ("diff",),
    ("diff", "--limit", "0"),
    ("diff", "--json"),
    ("status",),
    ("status", "--json"),
    ("timeline",),
    ("restore", "latest", "--extract", "{work}/extracted"),
    ("restore", "latest", "--extract", "{work}/extracted-json", "--json"),
    ("cat", "latest", "Hostile \x1b]0;owned\x07 \x1b[2J name \u202eosc.csv"),
    ("cat", "latest", "missing \x1b]52;c;cm0gLXJmIH4=\x07.csv"),
    ("restore", "\x1b[2J", "-o", "{work}/x.zip"),
    ("watch", "--once", "{downloads}"),
    ("snapshot", "{downloads}/" + HOSTILE_NAME),
)


def _label(args: tuple[str, ...]) -> str:
    return "-".join(
        a.lstrip("-") for a in args if a.isascii() and a.isidentifier() or a == "--json"
    )


@pytest.mark.parametrize("args", COMMANDS, ids=_label)
def test_no_control_sequence_from_an_export_reaches_the_terminal(
    cli: Callable, two_exports: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    filled = [a.format(work=tmp_path, downloads=two_exports) for a in args]
    done = cli(*filled)
    assert "Traceback" not in done.err
    if args[0] != "cat" or done.code != 0:  # cat's output is the member, as asked for
        assert_no_control(done.out + done.err, " ".join(args))
    record("terminal-escapes", commands=1)


def test_what_the_attacks_looked_like_is_still_shown(cli: Callable, two_exports: Path) -> None:
    """Escaped, not dropped: the user sees that a name held a control sequence."""
    diff = cli("diff", "--limit", "0")
    assert diff.code == 0
    assert "Eve1\\x1b]0;owned\\x07" in diff.out
    status = cli("status")
    assert "Headline\\x1b[2J" in status.out and "\\u202egnp.exe" in status.out
    listed = cli("list")
    assert "\\x1b]0;owned\\x07" in listed.out
    assert len(TERMINAL_ATTACKS) == 6


SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def test_the_contacts_csv_holds_no_formula_in_any_column(cli: Callable, two_exports: Path) -> None:
    done = cli("contacts", "-f", "csv")
    assert done.code == 0, done.err
    rows = list(csv.reader(io.StringIO(done.out)))
    header, body = rows[0], rows[1:]
    assert "E-mail 1 - Value" in header or any("mail" in column.lower() for column in header)
    hostile = [row for row in body if any("Attacker" in cell for cell in row)]
    assert len(hostile) == len(TERMINAL_ATTACKS)
    for row in body:
        for column, cell in zip(header, row, strict=True):
            assert not cell.startswith(SPREADSHEET_TRIGGERS), (column, cell)
    emails = [
        cell
        for row in hostile
        for column, cell in zip(header, row, strict=True)
        if "mail" in column
    ]
    assert "'=cmd|'/Ccalc'!A0@evil.example" in emails


MARKUP_NAME = "Basic_LinkedInDataExport_03-15-2026 :smile: [bold][link=mailto:a@b.c]x[red].zip"


def test_rich_markup_and_emoji_codes_in_a_name_are_shown_as_written(
    cli: Callable, tmp_path: Path
) -> None:
    """A file named with rich markup and an emoji code is listed under its own name: no
    emoji put in place of ``:smile:``, no ``[bold]`` or link swallowed, in tables and lines."""
    export = generate_export(
        tmp_path / "downloads" / MARKUP_NAME, date=date(2026, 3, 15), scale=0.02
    )
    assert cli("init").code == 0
    assert cli("snapshot", str(export)).code == 0
    outputs = {
        "list": cli("list"),
        "stats": cli("stats"),
        "restore": cli("restore", "latest", "-o", str(tmp_path / "back :tada: [bold].zip")),
        "snapshot again": cli("snapshot", str(export)),
    }
    for command, done in outputs.items():
        assert done.code == 0 and "Traceback" not in done.err, (command, done.err)
        text = done.out + done.err
        assert "\N{SMILING FACE WITH OPEN MOUTH}" not in text and "\N{PARTY POPPER}" not in text
        assert ":smile: [bold][link=mailto:a@b.c]x[red].zip" in text, (command, text)
    assert "back :tada: [bold].zip" in outputs["restore"].out
    assert (tmp_path / "back :tada: [bold].zip").read_bytes() == export.read_bytes()
