"""Connections as an address book: vCard 3.0 or a CSV with Google Contacts' column names.

Pure: records in, text out. Every named connection becomes one contact with its name,
company, title, email (when the person allows it), LinkedIn profile URL and the day you
connected (as a note). A connection with a profile URL but no name is written with what is
known (the URL as its name); a hidden member's row (``Connection.hidden``: neither name nor
URL, only a day) says nothing a contact could hold and is left out, which the caller says.
The vCard writer is lkvault's own: vobject (checked, 0.9.9) does not fold a line of fewer
than 75 characters that is longer than 75 octets (e.g. CJK names).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable

from lkvault.vault.export.links import web_link
from lkvault.vault.export.model import Connection

# Google Contacts' own CSV export header (the subset lkvault fills); Outlook and Apple
# Contacts map these names too.
CSV_HEADER = (
    "First Name",
    "Last Name",
    "Organization Name",
    "Organization Title",
    "E-mail 1 - Label",
    "E-mail 1 - Value",
    "Website 1 - Label",
    "Website 1 - Value",
    "Notes",
    "Labels",
)
LABEL = "LinkedIn"


def exportable(connections: Iterable[Connection]) -> list[Connection]:
    """The connections that can become contacts: all but hidden members' rows."""
    return [c for c in connections if not c.hidden]


def left_out_line(hidden: int, total: int) -> str | None:
    """The one line saying which connections ``exportable`` left out and why (None: none)."""
    if not hidden:
        return None
    members = "hidden member" if hidden == 1 else "hidden members"
    return (
        f"{hidden:,} {members} of {total:,} connections left out (LinkedIn gives neither "
        "their name nor their profile URL)"
    )


def note(connection: Connection) -> str:
    if connection.connected_on is None:
        return "LinkedIn connection"
    return f"Connected on LinkedIn on {connection.connected_on.isoformat()}"


def contact_uid(connection: Connection) -> str:
    """Stable across exports, so importing a newer file can update rather than duplicate."""
    return "lkvault-" + hashlib.sha256(connection.key.encode()).hexdigest()[:32]


def escape_text(value: str) -> str:
    """A TEXT value per RFC 2426 section 4: backslash, comma, semicolon and newlines escaped."""
    value = value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """A content line folded so no physical line exceeds 75 octets (RFC 2425 section 5.8.1),
    never inside a UTF-8 character; continuation lines start with one space."""
    pieces: list[str] = []
    current: list[str] = []
    size, limit = 0, 75
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, 74  # the leading space takes one octet
        current.append(char)
        size += width
    pieces.append("".join(current))
    return "\r\n ".join(pieces) + "\r\n"


def vcard(connection: Connection) -> str:
    """One vCard 3.0 (RFC 2426), UTF-8 text with CRLF line ends."""
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"N:{escape_text(connection.last_name)};{escape_text(connection.first_name)};;;",
        f"FN:{escape_text(connection.name or ''.join((connection.url or '').split()))}",
    ]
    if connection.company:
        lines.append(f"ORG:{escape_text(connection.company)}")
    if connection.position:
        lines.append(f"TITLE:{escape_text(connection.position)}")
    if connection.email:
        lines.append(f"EMAIL;TYPE=INTERNET:{escape_text(connection.email)}")
    url = profile_link(connection)
    if url:
        # URI values are not TEXT: written as they are (a web link has no space, CR or LF).
        lines.append(f"URL:{url}")
        lines.append(f"X-SOCIALPROFILE;TYPE=linkedin:{url}")
    lines.append(f"NOTE:{escape_text(note(connection))}")
    lines.append(f"CATEGORIES:{LABEL}")
    lines.append(f"UID:{contact_uid(connection)}")
    lines.append("END:VCARD")
    return "".join(fold(line) for line in lines)


def profile_link(connection: Connection) -> str | None:
    """The profile URL an address book may make clickable: http(s) only, else nothing."""
    return web_link("".join((connection.url or "").split()))


def vcards(connections: Iterable[Connection]) -> str:
    """All connections but hidden members' rows as one .vcf file."""
    return "".join(vcard(c) for c in exportable(connections))


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet will show as text, never run as a formula.

    Names, companies, titles, emails and URLs are chosen by other people; one starting with
    ``=``, ``+``, ``-`` or ``@`` would otherwise be a formula when the file is opened in Excel
    or Sheets.
    """
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def contacts_csv(connections: Iterable[Connection]) -> str:
    """All connections but hidden members' rows as CSV with Google Contacts' column names
    (RFC 4180, CRLF)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for c in exportable(connections):
        link = profile_link(c)
        row = [
            c.first_name,
            c.last_name,
            c.company or "",
            c.position or "",
            "Work" if c.email else "",
            c.email or "",
            LABEL if link else "",
            link or "",
            note(c),
            f"{LABEL} ::: * myContacts",
        ]
        # Every cell, the email and URL included: any of them can come from someone else.
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return out.getvalue()
