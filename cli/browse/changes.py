"""What a snapshot holds that the one before it did not, for the overview and changes pages.

Pure. Connections, profile, positions, recommendations and invitations are compared by
vault.export.diff. Messages are not: history keeps only the small tables of other snapshots
(a large export's messages take hundreds of MB), so new messages are those dated after the
previous export's date.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from lkvault.vault import Export, ExportDiff, diff_exports

from .catalog import Catalog
from .people import Version
from .threads import MessageHit


@dataclass
class Changes:
    previous: Version | None  # None for the first snapshot: nothing to compare with
    diff: ExportDiff = field(default_factory=ExportDiff)
    new_messages: list[MessageHit] = field(default_factory=list)
    new_threads: list[tuple[int, int]] = field(default_factory=list)  # (thread, new messages)


def _without_messages(export: Export) -> Export:
    return dataclasses.replace(export, messages=[], comments=[])


def changes_since(previous: Version | None, catalog: Catalog) -> Changes:
    if previous is None:
        return Changes(None)
    diff = diff_exports(_without_messages(previous.export), _without_messages(catalog.export))
    diff.added.sort(key=lambda c: (c.connected_on is not None, c.connected_on or date.min))
    diff.added.reverse()  # newest connection first, undated last
    fresh = catalog.messages_after(previous.label)
    per_thread = Counter(hit.conversation for hit in fresh)
    return Changes(previous, diff, fresh, sorted(per_thread.items()))
