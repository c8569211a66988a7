"""Everything known of one person across snapshots: when they connected, job changes, and
when they left or came back.

Pure: works on the parsed exports of several snapshots (oldest first), each with a label
(its export date). People are matched across snapshots by ``Connection.key`` (profile URL,
else name), so a job change shows up as the same person with a new company or position; a
person who changed their profile URL is matched by name and connected-on day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from lkvault.vault import Connection, Export


@dataclass(frozen=True)
class Version:
    """One snapshot's parsed export, as history sees it."""

    snapshot_id: str
    label: date  # the export's date, else the day the snapshot was taken
    export: Export


def person_id(key: str) -> str:
    """A short, stable id for a person's page address (their key holds a URL or a name)."""
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def job_of(connection: Connection) -> tuple[str, str]:
    return (connection.company or "", connection.position or "")


EventKind = Literal["connected", "first_seen", "job", "removed", "back"]


@dataclass(frozen=True)
class Event:
    """One line of a person's story: when it was seen, and what it was."""

    kind: EventKind
    when: date | None
    snapshot_id: str | None
    before: Connection | None = None
    after: Connection | None = None


def timeline(key: str, versions: Sequence[Version]) -> list[Event]:
    """Everything the snapshots say of one person, oldest first.

    'connected' comes from the export's "Connected On" date; the other events are dated by
    the first snapshot that shows them (the change happened between it and the one before).
    """
    return _story([(v, _find(key, v.export.connections)) for v in versions])


def _story(seen: Sequence[tuple[Version, Connection | None]]) -> list[Event]:
    """The events of one person from their record in each version (None: not in it)."""
    events: list[Event] = []
    last_seen: Connection | None = None
    was_present = False
    connected_on: date | None = None
    for version, found in seen:
        if found is None:
            if was_present:
                events.append(Event("removed", version.label, version.snapshot_id, last_seen))
            was_present = False
            continue
        if found.connected_on and connected_on is None:
            connected_on = found.connected_on
        if last_seen is None:
            events.append(Event("first_seen", version.label, version.snapshot_id, after=found))
        elif not was_present:
            events.append(Event("back", version.label, version.snapshot_id, last_seen, found))
        if last_seen is not None and job_of(last_seen) != job_of(found):
            events.append(Event("job", version.label, version.snapshot_id, last_seen, found))
        last_seen, was_present = found, True
    if connected_on is not None:
        events.insert(0, Event("connected", connected_on, None))
    return events


def _find(key: str, connections: list[Connection]) -> Connection | None:
    for connection in connections:
        if connection.key == key:
            return connection
    return None


class People:
    """Every person of every snapshot, by key, for person pages (built once, in memory)."""

    def __init__(self, versions: Sequence[Version]) -> None:
        self.versions = list(versions)
        self._seen: dict[str, dict[str, Connection]] = {}
        # A member who changed their profile URL: the new key stands for the first one.
        self._alias: dict[str, str] = {}
        by_name_and_day: dict[tuple[str, date], str] = {}
        for version in self.versions:
            present = {c.key for c in version.export.connections}
            for connection in version.export.connections:
                if connection.hidden:  # one hidden member cannot be told from another
                    continue
                key = self._alias.get(connection.key, connection.key)
                same = _name_and_day(connection)
                if key not in self._seen and same is not None:
                    earlier = by_name_and_day.get(same)
                    if earlier is not None and not present & self._keys_of(earlier):
                        self._alias[key] = key = earlier
                    else:
                        by_name_and_day.setdefault(same, key)
                self._seen.setdefault(key, {})[version.snapshot_id] = connection
        self.keys = {person_id(key): key for key in self._seen}
        self.keys.update({person_id(new): key for new, key in self._alias.items()})

    def _keys_of(self, key: str) -> set[str]:
        """Every key a person was seen under (the first, and any URL they moved to)."""
        return {key} | {new for new, first in self._alias.items() if first == key}

    def timeline(self, key: str) -> list[Event]:
        seen = self._seen.get(self._alias.get(key, key), {})
        return _story([(v, seen.get(v.snapshot_id)) for v in self.versions])

    def version_before(self, snapshot_id: str) -> Version | None:
        """The snapshot just before ``snapshot_id`` in this history, or None."""
        for number, version in enumerate(self.versions):
            if version.snapshot_id == snapshot_id:
                return self.versions[number - 1] if number > 0 else None
        return None

    def known(self, key: str) -> Connection | None:
        """The newest record of a person in any snapshot."""
        seen = self._seen.get(self._alias.get(key, key))
        if not seen:
            return None
        for version in reversed(self.versions):
            if version.snapshot_id in seen:
                return seen[version.snapshot_id]
        return None


def _name_and_day(connection: Connection) -> tuple[str, date] | None:
    """Name and connected-on day: with both, one person even under a new profile URL."""
    if not connection.name or connection.connected_on is None:
        return None
    return " ".join(connection.name.casefold().split()), connection.connected_on
