"""The connections files of LinkedIn's old "Export contacts" page (about 2012 to 2017).

Pure: bytes in, an ``Export`` of connections out. Two forms: the Outlook CSV
(``linkedin_connections_export_microsoft_outlook.csv``: 59 quoted columns in Windows-1252, of
which first, last name, e-mail, company and job title are filled; the Outlook Express and
Yahoo variants name fewer columns) and vCard files (2.1 or 3.0). Neither carries a profile
URL nor the day of connecting: they are the connections of their day, no more. A bare
``Connections.csv`` (an export's, unzipped) is read the same way, with its URLs and days. A
file is recognised by its contents, never by its name alone.
"""

from __future__ import annotations

import quopri
import re
from typing import Literal

from lkvault.vault.export.dates import parse_date
from lkvault.vault.export.model import Connection, Export
from lkvault.vault.export.records import email_address
from lkvault.vault.export.tables import TableError, column_key, read_table

ContactsForm = Literal["outlook", "vcard"]
MAX_CONTACTS_BYTES = 64 * 1024 * 1024  # 30,000 connections take about 10 MB in either form
HEAD_BYTES = 4096  # enough to hold the header row of the Outlook CSV (59 names: 1 KB)

# Columns of the three CSV forms, normalised (tables.column_key), under every name they had.
FIRST = ("firstname", "first")
LAST = ("lastname", "last")
EMAIL = ("emailaddress", "email", "emailaddress1")
COMPANY = ("company",)
TITLE = ("jobtitle", "position", "title")
URL = ("url", "profileurl")
# A bare Connections.csv (an export's, unzipped) is read the same way, with its URL and day.
WANTED = {*FIRST, *LAST, *EMAIL, *COMPANY, *TITLE, *URL, "connectedon", "middlename", "suffix"}
HEADER_LINES = 10  # a bare Connections.csv starts with a few lines of notes
# A header names a first and a last name and at least one of these (an address book, not just
# any table with names in it).
CONTACT_DETAILS = {*EMAIL, *COMPANY, "jobtitle", "businessphone", "mobilephone", "homephone"}

_VCARD_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*BEGIN:VCARD\s*$", re.IGNORECASE | re.MULTILINE)


def contacts_form(name: str, head: bytes) -> ContactsForm | None:
    """Which contacts file ``head`` (the file's first bytes) begins, if any. ``name`` only
    says where to look: a vCard is a ``.vcf`` (or ``.vcard``), the CSV a ``.csv``."""
    lowered = name.lower()
    if lowered.endswith((".vcf", ".vcard")):
        return "vcard" if _VCARD_START.search(head[:HEAD_BYTES]) else None
    if lowered.endswith(".csv"):
        return "outlook" if _outlook_header(head[:HEAD_BYTES]) else None
    return None


def _outlook_header(head: bytes) -> bool:
    """Whether one of the first lines names a first and a last name and a contact detail."""
    for line in head.split(b"\n")[:HEADER_LINES]:
        for codec in ("utf-8-sig", "cp1252"):
            try:
                text = line.decode(codec)
                break
            except UnicodeDecodeError:
                continue
        cells = re.split(r'"?\s*[,;\t]\s*"?', text.strip().strip('"'))
        names = {column_key(cell) for cell in cells}
        if names & set(FIRST) and names & set(LAST) and names & CONTACT_DETAILS:
            return True
    return False


def load_contacts(name: str, data: bytes) -> Export:
    """The connections a contacts file holds, as an export of kind 'contacts'; an Export that
    is not recognised when the file is not one (or a warning when it could not be read)."""
    form = contacts_form(name, data[:HEAD_BYTES])
    if form is None:
        return Export()
    export = Export(kind="contacts", recognised=True, tables={"connections"})
    if len(data) > MAX_CONTACTS_BYTES:
        export.warnings.append(f"{name}: larger than a contacts file can be; not read")
        return export
    if form == "outlook":
        try:
            export.connections = outlook_connections(data)
        except TableError as exc:
            export.warnings.append(f"{name}: {exc}; connections not read from it")
    else:
        export.connections = vcard_connections(data)
    return export


def _first(row: dict[str, str], names: tuple[str, ...]) -> str:
    return next((row[n] for n in names if row.get(n)), "")


def outlook_connections(data: bytes) -> list[Connection]:
    """The rows of an Outlook, Outlook Express or Yahoo CSV as connections."""
    table = read_table(data, WANTED, minimum=3)
    # Outlook's "Title" is a form of address (Mr., Dr.): the job is in "Job Title" there.
    title = ("jobtitle",) if table.has("jobtitle") else TITLE
    return [
        Connection(
            first_name=_first(row, FIRST),
            last_name=_first(row, LAST),
            url=_first(row, URL) or None,
            email=email_address(_first(row, EMAIL) or None),
            company=_first(row, COMPANY) or None,
            position=_first(row, title) or None,
            connected_on=parse_date(row.get("connectedon", "")),
        )
        for row in table.rows
        if _first(row, FIRST) or _first(row, LAST)
    ]


# --- vCard -------------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    for codec in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # unreachable: cp1252 fails only on 5 bytes, latin-1 never


def _unfold(text: str) -> list[str]:
    """Content lines: a line starting with a space or a tab continues the one before
    (RFC 2425 5.8.1); a vCard 2.1 quoted-printable value ending in '=' continues too."""
    lines: list[str] = []
    for raw in re.split(r"\r\n|\r|\n", text):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif lines and lines[-1].endswith("=") and "QUOTED-PRINTABLE" in lines[-1].upper():
            lines[-1] = lines[-1][:-1] + raw
        else:
            lines.append(raw)
    return lines


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _components(value: str) -> list[str]:
    """A structured value's components (N, ORG), split at semicolons that are not escaped."""
    return [_unescape(part).strip() for part in re.split(r"(?<!\\);", value)]


def _property(line: str) -> tuple[str, dict[str, str], str] | None:
    """(name, parameters, value) of one content line; the group prefix ('item1.') dropped."""
    head, colon, value = line.partition(":")
    if not colon:
        return None
    name, *params = head.split(";")
    parameters: dict[str, str] = {}
    for param in params:
        key, equals, found = param.partition("=")
        parameters[key.strip().upper() if equals else "TYPE"] = found if equals else key
    name = name.rsplit(".", 1)[-1].strip().upper()
    if parameters.get("ENCODING", "").upper() in ("QUOTED-PRINTABLE", "QP"):
        raw = quopri.decodestring(value.encode("latin-1", "replace"))
        value = raw.decode(parameters.get("CHARSET", "utf-8"), "replace")
    return name, parameters, value


def vcard_connections(data: bytes) -> list[Connection]:
    """Every vCard with a name in the file, as a connection (name, company, title, e-mail,
    and a LinkedIn profile URL when one is given)."""
    found: list[Connection] = []
    card: dict[str, str] | None = None
    for line in _unfold(_decode(data)):
        parsed = _property(line)
        if parsed is None:
            continue
        name, _parameters, value = parsed
        if name == "BEGIN" and value.strip().upper() == "VCARD":
            card = {}
        elif name == "END" and value.strip().upper() == "VCARD":
            if card is not None:
                connection = _card_connection(card)
                if connection is not None:
                    found.append(connection)
            card = None
        elif card is not None and name not in card:
            card[name] = value
    return found


def _card_connection(card: dict[str, str]) -> Connection | None:
    parts = _components(card.get("N", "")) + ["", ""]
    last, first = parts[0], parts[1]
    if not (first or last):
        full = _unescape(card.get("FN", "")).strip()
        first, _space, last = full.partition(" ")
    if not (first or last):
        return None
    url = _unescape(card.get("URL", "")).strip()
    return Connection(
        first_name=first,
        last_name=last,
        url=url if re.match(r"https?://([a-z]+\.)?linkedin\.com/", url, re.IGNORECASE) else None,
        email=email_address(_unescape(card.get("EMAIL", "")).strip() or None),
        company=_components(card.get("ORG", ""))[0] or None,
        position=_unescape(card.get("TITLE", "")).strip() or None,
    )
