"""Turning the rows of each known table into records of vault.export.model.

Pure. Each table has the columns it may carry in any era, under every name it has had;
``WANTED`` lists them (normalised, see tables.column_key) so the header row can be found.
A missing column gives ``None`` (or an empty name), never an error.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from operator import itemgetter
from typing import Literal

from lkvault.vault.export.dates import parse_date, parse_datetime
from lkvault.vault.export.model import (
    Comment,
    Connection,
    Conversation,
    Endorsement,
    Invitation,
    Message,
    Position,
    Recommendation,
)
from lkvault.vault.export.tables import Table, column_key

Row = dict[str, str]

# Each table's columns across eras (normalised names).
WANTED: dict[str, set[str]] = {
    "connections": {
        "firstname", "lastname", "url", "profileurl", "emailaddress", "email", "company",
        "position", "title", "connectedon", "address", "websites",
    },
    "messages": {
        "conversationid", "conversationtitle", "from", "senderprofileurl", "to",
        "recipientprofileurls", "date", "subject", "content", "folder", "attachments",
        "ismessagedraft", "isconversationdraft", "direction",
    },
    "invitations": {
        "from", "to", "sentat", "message", "direction", "inviterprofileurl", "inviteeprofileurl",
    },
    "profile": {
        "firstname", "lastname", "maidenname", "address", "birthdate", "headline", "summary",
        "industry", "zipcode", "geolocation", "twitterhandles", "websites", "country",
    },
    "positions": {
        "companyname", "title", "description", "location", "startedon", "finishedon",
        "startdate", "enddate",
    },
    "recommendations_received": {
        "firstname", "lastname", "company", "jobtitle", "title", "text", "body",
        "creationdate", "date", "status", "displaystatus",
    },
    "endorsements_received": {
        "endorsementdate", "skillname", "endorserfirstname", "endorserlastname",
        "endorserpublicurl", "endorsementstatus",
    },
    "endorsements_given": {
        "endorsementdate", "skillname", "endorseefirstname", "endorseelastname",
        "endorseepublicurl", "endorsementstatus",
    },
    "comments": {"date", "link", "message"},
}  # fmt: skip
WANTED["recommendations_given"] = WANTED["recommendations_received"]

# Profile.csv columns under the names lkvault shows (others keep the name they were given).
PROFILE_NAMES = {
    column_key(name): name
    for name in (
        "First Name", "Last Name", "Maiden Name", "Address", "Birth Date", "Headline", "Summary",
        "Industry", "Zip Code", "Geo Location", "Twitter Handles", "Websites",
        "Instant Messengers", "Country", "Contact Instructions", "Created Date",
        "Marital Status", "Association",
    )
}  # fmt: skip


def pick(row: Row, *names: str) -> str:
    """The first non-empty value among columns ``names``, else ''."""
    for name in names:
        value = row.get(name)
        if value:
            return value
    return ""


def optional(row: Row, *names: str) -> str | None:
    return pick(row, *names) or None


def split_list(value: str) -> tuple[str, ...]:
    if "," not in value:  # one name or URL, the usual case: no generator per message
        value = value.strip()
        return (value,) if value else ()
    return tuple(filter(None, map(str.strip, value.split(","))))


# An address as a person would write one: something, one @, a domain with a dot. LinkedIn's
# Email Address column can hold a member URN instead ('urn:li:member:1235632220').
_EMAIL_ADDRESS = re.compile(r"[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:.]+")


def email_address(value: str | None) -> str | None:
    """``value`` when it is an email address, else None (a member URN is not one)."""
    if value and _EMAIL_ADDRESS.fullmatch(value):
        return value
    return None


_CREDENTIAL = re.compile(r"^(?:[A-Z][A-Za-z]*[A-Z.][A-Za-z.]*|[A-Z]{2,}|[JS]r\.?)$")


def split_names(value: str, expected: int = 0) -> tuple[str, ...]:
    """Names joined by commas, keeping suffixes such as ', PhD' or ', Jr.' with their name.

    ``expected`` (the number of profile URLs beside the names, when known) wins: pieces
    are merged back only until there are that many names.
    """
    if "," not in value:  # a single name has nothing to merge
        return split_list(value)
    pieces = list(split_list(value))
    names: list[str] = []
    for number, piece in enumerate(pieces):
        too_many = len(names) + len(pieces) - number > expected
        if names and _CREDENTIAL.match(piece) and (not expected or too_many):
            names[-1] = f"{names[-1]}, {piece}"
        else:
            names.append(piece)
    return tuple(names)


def connections(table: Table) -> list[Connection]:
    return [
        Connection(
            first_name=pick(row, "firstname"),
            last_name=pick(row, "lastname"),
            url=optional(row, "url", "profileurl"),
            email=email_address(optional(row, "emailaddress", "email")),
            company=optional(row, "company"),
            position=optional(row, "position", "title"),
            connected_on=parse_date(pick(row, "connectedon")),
        )
        for row in table.rows
    ]


def synthetic_conversation_id(participants: tuple[str, ...]) -> str:
    """A stable id for a conversation the export gives none (pre-2020, or a blank id)."""
    names = sorted({name.casefold() for name in participants if name})
    return "lkvault-" + hashlib.sha256("\x1f".join(names).encode()).hexdigest()[:24]


def message(row: Row) -> Message:
    """One row of messages.csv (stripped cells by column name) as a Message."""
    # Hundreds of thousands of rows: columns are read with dict.get directly (what ``pick``
    # and ``optional`` do, without two calls per column).
    get = row.get
    sender = get("from") or ""
    recipient_urls = split_list(get("recipientprofileurls") or "")
    recipients = split_names(get("to") or "", len(recipient_urls))
    conversation = get("conversationid")
    if not conversation:
        conversation = synthetic_conversation_id((sender, *recipients))
    attachments = get("attachments")
    return Message(
        conversation_id=conversation,
        conversation_title=get("conversationtitle") or None,
        sender=sender,
        sender_url=get("senderprofileurl") or None,
        recipients=recipients,
        recipient_urls=recipient_urls,
        sent_at=parse_datetime(get("date")),
        subject=get("subject") or None,
        content=get("content") or "",
        folder=get("folder") or None,
        attachments=(attachments,) if attachments and attachments != "NaN" else (),
        is_draft=(get("ismessagedraft") or "").lower() in ("yes", "true"),
    )


def messages(table: Table) -> list[Message]:
    return list(map(message, table.rows))


def _oldest_first(message: Message) -> tuple[bool, datetime | None]:
    """Sort key: undated messages first, then by time."""
    return (message.sent_at is not None, message.sent_at)


def participants(found: Iterable[Message]) -> tuple[str, ...]:
    """The senders and recipients of these messages, each once, in order of appearance."""
    named: dict[str, None] = {}
    for message in found:
        if message.sender:
            named.setdefault(message.sender, None)
        for name in message.recipients:
            if name:
                named.setdefault(name, None)
    return tuple(named)


def conversations(found: list[Message]) -> list[Conversation]:
    """Messages grouped by conversation, each oldest first; conversations newest first."""
    grouped: dict[str, list[Message]] = {}
    for message in found:
        grouped.setdefault(message.conversation_id, []).append(message)
    keyed = []
    for conversation_id, items in grouped.items():
        if len(items) > 1:
            items.sort(key=_oldest_first)
        title = next((m.conversation_title for m in items if m.conversation_title), None)
        # Oldest first, undated first: the last message's time is the newest (Conversation.
        # last_at), known here without a pass over the messages per comparison.
        last = items[-1].sent_at
        conversation = Conversation(conversation_id, title, participants(items), tuple(items))
        keyed.append(((last is not None, last), conversation))
    keyed.sort(key=itemgetter(0), reverse=True)
    return [conversation for _key, conversation in keyed]


def invitations(table: Table) -> list[Invitation]:
    return [
        Invitation(
            sender=pick(row, "from"),
            recipient=pick(row, "to"),
            sent_at=parse_datetime(pick(row, "sentat")),
            message=optional(row, "message"),
            direction=optional(row, "direction"),
            sender_url=optional(row, "inviterprofileurl"),
            recipient_url=optional(row, "inviteeprofileurl"),
        )
        for row in table.rows
    ]


def recommendations(table: Table, direction: Literal["received", "given"]) -> list[Recommendation]:
    return [
        Recommendation(
            direction=direction,
            first_name=pick(row, "firstname"),
            last_name=pick(row, "lastname"),
            company=optional(row, "company"),
            job_title=optional(row, "jobtitle", "title"),
            text=pick(row, "text", "body"),
            created_at=parse_datetime(pick(row, "creationdate", "date")),
            status=optional(row, "status", "displaystatus"),
        )
        for row in table.rows
    ]


def endorsements(table: Table, direction: Literal["received", "given"]) -> list[Endorsement]:
    who = "endorser" if direction == "received" else "endorsee"
    return [
        Endorsement(
            direction=direction,
            skill=pick(row, "skillname"),
            first_name=pick(row, who + "firstname"),
            last_name=pick(row, who + "lastname"),
            url=optional(row, who + "publicurl"),
            endorsed_on=parse_date(pick(row, "endorsementdate")),
            status=optional(row, "endorsementstatus"),
        )
        for row in table.rows
    ]


def positions(table: Table) -> list[Position]:
    return [
        Position(
            company=pick(row, "companyname", "company"),
            title=optional(row, "title"),
            description=optional(row, "description"),
            location=optional(row, "location"),
            started_on=optional(row, "startedon", "startdate"),
            finished_on=optional(row, "finishedon", "enddate"),
        )
        for row in table.rows
    ]


def comments(table: Table) -> list[Comment]:
    return [
        Comment(
            commented_at=parse_datetime(pick(row, "date")),
            link=optional(row, "link"),
            message=pick(row, "message"),
        )
        for row in table.rows
    ]


def profile(table: Table) -> dict[str, str]:
    """The first row of Profile.csv, by column name as lkvault shows it; empty values left out."""
    if not table.rows:
        return {}
    row = table.rows[0]
    result: dict[str, str] = {}
    for header, key in zip(table.headers, table.columns, strict=True):
        if key and row.get(key):
            result.setdefault(PROFILE_NAMES.get(key, header), row[key])
    return result
