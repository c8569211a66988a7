"""What lkvault knows of a LinkedIn export: parsing, summaries, differences and contacts.

``load_export(members, archive_name)`` parses an export from its members (lazily read);
``summarize(export)`` gives the counts a snapshot records. Everything here is pure.
"""

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
