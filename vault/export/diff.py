"""What changed between two exports: connections, messages, profile, recommendations, invitations.

Pure. Connections are matched by profile URL, else by name (2018 exports carry no URL); those
left are matched by name and connected-on date, which finds a member who changed their
public profile URL (reported as such, not as one removed and one added). Connections with
neither name nor URL (hidden members' rows, ``Connection.hidden``) cannot be matched and are
only counted, before and after. Rows that occur several times are matched as many times. A
table one of the two exports has no file for (an export of some categories only) is not
compared: the diff says which file was missing instead of counting everything as new.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lkvault.vault.export.model import (
    Connection,
    Export,
    Invitation,
    Message,
    Position,
    Recommendation,
)
from lkvault.vault.export.records import conversations

T = TypeVar("T")


@dataclass
class ConnectionChange:
    old: Connection
    new: Connection

    def fields(self) -> list[str]:
        changed = []
        if (self.old.company or "") != (self.new.company or ""):
            changed.append("company")
        if (self.old.position or "") != (self.new.position or ""):
            changed.append("position")
        return changed


# The tables a diff compares, with the file name LinkedIn gives each today.
COMPARED = {
    "connections": "Connections.csv",
    "messages": "messages.csv",
    "profile": "Profile.csv",
    "positions": "Positions.csv",
    "recommendations_received": "Recommendations_Received.csv",
    "recommendations_given": "Recommendations_Given.csv",
    "invitations": "Invitations.csv",
    "endorsements_received": "Endorsement_Received_Info.csv",
}


@dataclass
class NewConversation:
    id: str
    title: str | None
    participants: tuple[str, ...]
    new_messages: int
    is_new: bool  # the conversation itself is new, not just messages in it


@dataclass
class ExportDiff:
    added: list[Connection] = field(default_factory=list)
    removed: list[Connection] = field(default_factory=list)
    changed: list[ConnectionChange] = field(default_factory=list)
    moved: list[ConnectionChange] = field(default_factory=list)  # a new profile URL
    hidden: tuple[int, int] = (0, 0)  # connections without name or URL, before and after
    new_messages: int = 0
    removed_messages: int = 0
    conversations: list[NewConversation] = field(default_factory=list)
    profile: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    positions_added: list[Position] = field(default_factory=list)
    positions_removed: list[Position] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    invitations: list[Invitation] = field(default_factory=list)
    endorsements_received: int = 0
    # Tables not compared because the older (or newer) export has no file for them.
    missing_before: list[str] = field(default_factory=list)
    missing_after: list[str] = field(default_factory=list)

    @property
    def new_conversations(self) -> int:
        return sum(1 for c in self.conversations if c.is_new)

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.moved
            or self.hidden[0] != self.hidden[1]
            or self.new_messages
            or self.removed_messages
            or self.profile
            or self.positions_added
            or self.positions_removed
            or self.recommendations
            or self.invitations
            or self.endorsements_received
        )


def _new_items(old: Iterable[T], new: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """Items of ``new`` not in ``old`` by key, counting repeats (a multiset difference)."""
    remaining = Counter(key(item) for item in old)
    fresh = []
    for item in new:
        k = key(item)
        if remaining[k] > 0:
            remaining[k] -= 1
        else:
            fresh.append(item)
    return fresh


def message_key(message: Message) -> Hashable:
    content = hashlib.sha256(message.content.encode()).digest()
    return (message.conversation_id, message.sent_at, message.sender, content)


def _name_key(connection: Connection) -> str:
    return " ".join(connection.name.casefold().split())


def _pair_off(
    old: list[Connection], new: list[Connection], key: Callable[[Connection], Hashable | None]
) -> tuple[list[tuple[Connection, Connection]], list[Connection], list[Connection]]:
    """Pairs of an old and a new connection with the same ``key`` (in order, each used once;
    a key of None matches nothing), and the old and new ones left."""
    waiting: dict[Hashable, list[Connection]] = {}
    for connection in old:
        k = key(connection)
        if k is not None:
            waiting.setdefault(k, []).append(connection)
    pairs, fresh = [], []
    for connection in new:
        k = key(connection)
        matches = waiting.get(k) if k is not None else None
        if matches:
            pairs.append((matches.pop(0), connection))
        else:
            fresh.append(connection)
    paired = {id(before) for before, _ in pairs}
    return pairs, [c for c in old if id(c) not in paired], fresh


def _connections(old: list[Connection], new: list[Connection], result: ExportDiff) -> None:
    def named(found: list[Connection]) -> list[Connection]:
        return [c for c in found if not c.hidden]

    old_named, new_named = named(old), named(new)
    result.hidden = (len(old) - len(old_named), len(new) - len(new_named))
    pairs, old_left, new_left = _pair_off(old_named, new_named, lambda c: c.key)

    # Left over on both sides with one name and one connected-on day: one person whose
    # profile URL changed, or who had none in the older export's era (2018: no URLs).
    def name_and_day(connection: Connection) -> Hashable | None:
        if not connection.name or connection.connected_on is None:
            return None
        return (_name_key(connection), connection.connected_on)

    by_day, old_left, new_left = _pair_off(old_left, new_left, name_and_day)

    # An older export without URLs nor dates (the 2012 contacts file): by name alone.
    def name_only(connection: Connection) -> Hashable | None:
        return _name_key(connection) or None

    undated = [c for c in old_left if c.url is None and c.connected_on is None]
    by_name, undated_left, new_left = _pair_off(undated, new_left, name_only)
    old_left = [c for c in old_left if c.url is not None or c.connected_on is not None]
    for before, after in pairs + by_day + by_name:
        change = ConnectionChange(before, after)
        if change.fields():
            result.changed.append(change)
    for before, after in by_day:
        if before.url and after.url:
            result.moved.append(ConnectionChange(before, after))
    result.added.extend(new_left)
    result.removed.extend(old_left + undated_left)


def _messages(old: list[Message], new: list[Message], result: ExportDiff) -> None:
    fresh = _new_items(old, new, message_key)
    result.new_messages = len(fresh)
    result.removed_messages = len(_new_items(new, old, message_key))
    known = {m.conversation_id for m in old}
    counts = Counter(m.conversation_id for m in fresh)
    for conversation in conversations(new):
        if counts[conversation.id]:
            result.conversations.append(
                NewConversation(
                    conversation.id,
                    conversation.title,
                    conversation.participants,
                    counts[conversation.id],
                    conversation.id not in known,
                )
            )


def _profile(old: dict[str, str], new: dict[str, str], result: ExportDiff) -> None:
    for name in [*old, *(n for n in new if n not in old)]:
        before, after = old.get(name), new.get(name)
        if (before or "") != (after or ""):
            result.profile[name] = (before, after)


def _has(export: Export, table: str) -> bool:
    """Whether the export has a file for ``table``; one built without saying which tables
    it has (``tables`` empty) is taken to have them all."""
    return not export.tables or table in export.tables


def diff_exports(old: Export, new: Export) -> ExportDiff:
    """Everything ``new`` has that ``old`` had not (and the connections it lost), table by
    table, for the tables both exports have a file for."""
    result = ExportDiff()
    result.missing_before = [t for t in COMPARED if not _has(old, t) and _has(new, t)]
    result.missing_after = [t for t in COMPARED if _has(old, t) and not _has(new, t)]

    def both(table: str) -> bool:
        return _has(old, table) and _has(new, table)

    if both("connections"):
        _connections(old.connections, new.connections, result)
    if both("messages"):
        _messages(old.messages, new.messages, result)
    if both("profile"):
        _profile(old.profile, new.profile, result)

    def position_key(p: Position) -> Hashable:
        return (p.company, p.title, p.started_on, p.finished_on)

    if both("positions"):
        result.positions_added = _new_items(old.positions, new.positions, position_key)
        result.positions_removed = _new_items(new.positions, old.positions, position_key)

    def recommendation_key(r: Recommendation) -> Hashable:
        return (r.direction, r.first_name, r.last_name, r.text)

    compared = {d for d in ("received", "given") if both(f"recommendations_{d}")}
    result.recommendations = _new_items(
        [r for r in old.recommendations if r.direction in compared],
        [r for r in new.recommendations if r.direction in compared],
        recommendation_key,
    )

    def invitation_key(i: Invitation) -> Hashable:
        return (i.sender, i.recipient, i.sent_at, i.direction)

    if both("invitations"):
        result.invitations = _new_items(old.invitations, new.invitations, invitation_key)
    if both("endorsements_received"):
        received = [e for e in old.endorsements if e.direction == "received"]
        result.endorsements_received = len(
            _new_items(
                received,
                [e for e in new.endorsements if e.direction == "received"],
                lambda e: (e.skill, e.first_name, e.last_name, e.url, e.endorsed_on),
            )
        )
    return result


def _connection_json(connection: Connection) -> dict[str, Any]:
    return {
        "name": connection.name,
        "url": connection.url,
        "company": connection.company,
        "position": connection.position,
        "connected_on": _day(connection),
    }


def _day(connection: Connection) -> str | None:
    return connection.connected_on.isoformat() if connection.connected_on else None


def diff_document(result: ExportDiff) -> dict[str, Any]:
    """The diff as ``lkvault diff --json`` prints it."""
    return {
        "connections": {
            "added": [_connection_json(c) for c in result.added],
            "removed": [_connection_json(c) for c in result.removed],
            "changed": [
                {
                    "name": change.new.name,
                    "url": change.new.url,
                    "company": [change.old.company, change.new.company],
                    "position": [change.old.position, change.new.position],
                    "fields": change.fields(),
                }
                for change in result.changed
            ],
            "url_changed": [
                {
                    "name": change.new.name,
                    "old_url": change.old.url,
                    "new_url": change.new.url,
                    "connected_on": _day(change.new),
                }
                for change in result.moved
            ],
            "hidden": list(result.hidden),
        },
        "missing_files": {
            "older": [COMPARED[t] for t in result.missing_before],
            "newer": [COMPARED[t] for t in result.missing_after],
        },
        "messages": {
            "new": result.new_messages,
            "new_conversations": result.new_conversations,
            "removed": result.removed_messages,
            "conversations": [
                {
                    "id": c.id,
                    "title": c.title,
                    "participants": list(c.participants),
                    "new_messages": c.new_messages,
                    "new_conversation": c.is_new,
                }
                for c in result.conversations
            ],
        },
        "profile": {
            "changed": {name: [old, new] for name, (old, new) in result.profile.items()},
            "positions_added": [_position_json(p) for p in result.positions_added],
            "positions_removed": [_position_json(p) for p in result.positions_removed],
        },
        "recommendations": {
            "new": [
                {
                    "direction": r.direction,
                    "name": " ".join(p for p in (r.first_name, r.last_name) if p),
                    "company": r.company,
                    "job_title": r.job_title,
                }
                for r in result.recommendations
            ]
        },
        "invitations": {
            "new": [
                {
                    "from": i.sender,
                    "to": i.recipient,
                    "direction": i.direction,
                    "sent_at": i.sent_at.isoformat() if i.sent_at else None,
                }
                for i in result.invitations
            ]
        },
        "endorsements_received": {"new": result.endorsements_received},
    }


def _position_json(position: Position) -> dict[str, Any]:
    return {
        "company": position.company,
        "title": position.title,
        "started_on": position.started_on,
        "finished_on": position.finished_on,
    }
