"""What lkvault knows of a LinkedIn export: parsing, summaries, differences and contacts.

``load_export(members, archive_name)`` parses an export from its members (lazily read);
``summarize(export)`` gives the counts a snapshot records. Everything here is pure.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lkvault.vault.export.load import MemberReaders, load_export
    from lkvault.vault.export.model import (
        Comment,
        Connection,
        Conversation,
        Endorsement,
        Export,
        ExportSummary,
        Invitation,
        Message,
        Position,
        Recommendation,
    )
    from lkvault.vault.export.records import conversations
    from lkvault.vault.export.summary import summarize, summary_document, summary_from_document

# Loaded when first used: importing a submodule (say, the history of a vault's exports for
# 'lkvault list') must not load every parser.
_LAZY = {
    **dict.fromkeys(("MemberReaders", "load_export"), "lkvault.vault.export.load"),
    **dict.fromkeys(
        (
            "Comment",
            "Connection",
            "Conversation",
            "Endorsement",
            "Export",
            "ExportSummary",
            "Invitation",
            "Message",
            "Position",
            "Recommendation",
        ),
        "lkvault.vault.export.model",
    ),
    "conversations": "lkvault.vault.export.records",
    **dict.fromkeys(
        ("summarize", "summary_document", "summary_from_document"), "lkvault.vault.export.summary"
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Comment",
    "Connection",
    "Conversation",
    "Endorsement",
    "Export",
    "ExportSummary",
    "Invitation",
    "MemberReaders",
    "Message",
    "Position",
    "Recommendation",
    "conversations",
    "load_export",
    "summarize",
    "summary_document",
    "summary_from_document",
]
