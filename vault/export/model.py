"""What lkvault knows of a LinkedIn export: plain records, no parsing and no I/O.

The parsers (``vault.export``) build these from an export's CSV files; summaries, diffs,
contacts and the browse page read them. Text is kept as found (stripped of surrounding
whitespace); a value the export does not carry is ``None`` (or an empty string for names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

ExportKind = Literal["basic", "complete", "contacts"]  # contacts: a 2012 Outlook CSV or vCard


@dataclass(frozen=True)
class Connection:
    first_name: str
    last_name: str
    url: str | None = None  # public profile URL (absent in 2018 exports)
    email: str | None = None  # only when the person allows it
    company: str | None = None
    position: str | None = None
    connected_on: date | None = None

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def hidden(self) -> bool:
        """A hidden member's row (see ``is_hidden``)."""
        return is_hidden(self.first_name, self.last_name, self.url)

    @property
    def key(self) -> str:
        """Identity across snapshots: the profile URL, else the lower-cased name."""
        if self.url:
            return self.url.rstrip("/").lower()
        return "name:" + self.name.casefold()


def is_hidden(first_name: str, last_name: str, url: str | None) -> bool:
    """Whether a row of Connections.csv is a hidden member's: LinkedIn gives neither a name
    nor a profile URL (a member who left LinkedIn or hides their profile), only the day.

    The one rule of every count: such a row is a connection (LinkedIn counts it, and so does
    every summary, diff, timeline and browse page), shown as hidden; it cannot be told apart
    from another hidden one, so it is never matched across exports nor made a contact.
    """
    return not (first_name.strip() or last_name.strip() or (url or "").strip())


@dataclass(frozen=True)
class Message:
    conversation_id: str  # synthesised from the participants for pre-2020 exports
    conversation_title: str | None
    sender: str
    sender_url: str | None
    recipients: tuple[str, ...]
    recipient_urls: tuple[str, ...]
    sent_at: datetime | None
    subject: str | None
    content: str  # as text; may hold HTML-looking text, which must never be rendered as HTML
    folder: str | None = None
    attachments: tuple[str, ...] = ()
    is_draft: bool = False


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str | None
    participants: tuple[str, ...]
    messages: tuple[Message, ...]  # oldest first

    @property
    def last_at(self) -> datetime | None:
        dated = [m.sent_at for m in self.messages if m.sent_at is not None]
        return max(dated) if dated else None


@dataclass(frozen=True)
class Recommendation:
    direction: Literal["received", "given"]
    first_name: str
    last_name: str
    company: str | None
    job_title: str | None
    text: str
    created_at: datetime | None
    status: str | None


@dataclass(frozen=True)
class Invitation:
    sender: str
    recipient: str
    sent_at: datetime | None
    message: str | None
    direction: str | None  # "INCOMING" / "OUTGOING" as in the export
    sender_url: str | None = None
    recipient_url: str | None = None


@dataclass(frozen=True)
class Endorsement:
    direction: Literal["received", "given"]
    skill: str
    first_name: str
    last_name: str
    url: str | None
    endorsed_on: date | None
    status: str | None


@dataclass(frozen=True)
class Position:
    company: str
    title: str | None
    description: str | None
    location: str | None
    started_on: str | None  # as written ("Mar 2021", "2019"): months and years only
    finished_on: str | None


@dataclass(frozen=True)
class Comment:
    """A comment the member wrote (Comments.csv)."""

    commented_at: datetime | None
    link: str | None
    message: str


DateSource = Literal["name", "contents", "modified"]


@dataclass(frozen=True)
class SetAside:
    """A member holding another version of a table part that a second member holds too: it is
    kept in the archive but not read, so the rows of the two are not added up."""

    name: str  # the member not read
    kept: str  # the member read instead
    table: str  # a value of TABLES

    @property
    def reason(self) -> str:
        return (
            f"{self.name} is another version of {self.kept}: only {self.kept} is read "
            "(LinkedIn's current file; a legacy copy repeats its rows)"
        )


@dataclass(frozen=True)
class Owner:
    """Whose export it is: the member's name, from Profile.csv, else from the messages (the
    one person in every message), else from the invitations (the one in every invitation)."""

    name: str
    source: Literal["profile", "messages", "invitations"]

    @property
    def key(self) -> str:
        """The name as compared: case and runs of spaces do not count."""
        return owner_key(self.name)


def owner_key(name: str) -> str:
    return " ".join(name.casefold().split())


@dataclass(frozen=True)
class ExportSummary:
    """Recorded (encrypted) in every snapshot of a LinkedIn export; see ``list --json``."""

    kind: ExportKind | None
    date: date | None
    headline: str | None
    counts: dict[str, int]  # connections, conversations, messages, invitations,
    # recommendations_received, recommendations_given, endorsements_received, positions
    owner: Owner | None = None
    set_aside: tuple[SetAside, ...] = ()
    # Where ``date`` comes from: "name" (the zip's or its folder's name), "contents" (the
    # newest time on its members, for a zip renamed without its date) or "modified" (a
    # contacts file's modification day).
    date_from: DateSource | None = None


@dataclass
class Export:
    """Everything parsed from one export."""

    kind: ExportKind | None = None
    date: date | None = None
    recognised: bool = False  # its name or its contents say it is a LinkedIn export
    profile: dict[str, str] = field(default_factory=dict)  # Profile.csv columns -> values
    connections: list[Connection] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    invitations: list[Invitation] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    endorsements: list[Endorsement] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)  # members kept but not interpreted
    warnings: list[str] = field(default_factory=list)  # files that could not be parsed
    tables: set[str] = field(default_factory=set)  # the known tables it has a file for
    set_aside: list[SetAside] = field(default_factory=list)  # other versions of a table, unread
    owner: Owner | None = None

    @property
    def headline(self) -> str | None:
        return self.profile.get("Headline") or None
