"""What changed between two exports: connections, messages, profile, recommendations, invitations.

Pure. Connections are matched by profile URL, else by name (2018 exports carry no URL);
connections with neither (LinkedIn's "hidden" rows of deleted or private members) cannot be
matched and are only counted. Rows that occur several times are matched as many times.
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

    @property
    def new_conversations(self) -> int:
        return sum(1 for c in self.conversations if c.is_new)

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
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


def _connections(old: list[Connection], new: list[Connection], result: ExportDiff) -> None:
    def named(found: list[Connection]) -> list[Connection]:
        return [c for c in found if c.url or c.name]

    old_named, new_named = named(old), named(new)
    result.hidden = (len(old) - len(old_named), len(new) - len(new_named))
    old_by_key: dict[str, list[Connection]] = {}
    for connection in old_named:
        old_by_key.setdefault(connection.key, []).append(connection)
    for connection in new_named:
        matches = old_by_key.get(connection.key)
        if not matches:
            result.added.append(connection)
            continue
        before = matches.pop(0)
        change = ConnectionChange(before, connection)
        if change.fields():
            result.changed.append(change)
    for leftovers in old_by_key.values():
        result.removed.extend(leftovers)


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


def diff_exports(old: Export, new: Export) -> ExportDiff:
    """Everything ``new`` has that ``old`` had not (and the connections it lost)."""
    result = ExportDiff()
    _connections(old.connections, new.connections, result)
    _messages(old.messages, new.messages, result)
    _profile(old.profile, new.profile, result)

    def position_key(p: Position) -> Hashable:
        return (p.company, p.title, p.started_on, p.finished_on)

    result.positions_added = _new_items(old.positions, new.positions, position_key)
    result.positions_removed = _new_items(new.positions, old.positions, position_key)

    def recommendation_key(r: Recommendation) -> Hashable:
        return (r.direction, r.first_name, r.last_name, r.text)

    result.recommendations = _new_items(
        old.recommendations, new.recommendations, recommendation_key
    )

    def invitation_key(i: Invitation) -> Hashable:
        return (i.sender, i.recipient, i.sent_at, i.direction)

    result.invitations = _new_items(old.invitations, new.invitations, invitation_key)
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
        "connected_on": connection.connected_on.isoformat() if connection.connected_on else None,
    }


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
            "hidden": list(result.hidden),
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
