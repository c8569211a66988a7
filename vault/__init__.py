"""lkvault's library: encrypted, deduplicating, archive-aware storage of LinkedIn exports.

The public API is what this module exports (the front ends in lkvault.cli import nothing
else); everything else is internal and may change between versions.

The errors, progress and storage names load at once; the rest (Vault, the operations, the
export parsers) when first used, so that a command that needs none of them (``lkvault
--help``) does not load crypto, zstd and every operation.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lkvault.vault.backend import (
    Backend,
    RemoteOptions,
    RetryPolicy,
    S3Settings,
    SshSettings,
    is_remote,
    open_backend,
    parse_location,
)
from lkvault.vault.errors import (
    AccessDenied,
    BadInput,
    IntegrityError,
    Interrupted,
    RollbackDetected,
    SnapshotNotFound,
    StorageError,
    UnsupportedFormat,
    UsageError,
    VaultError,
    VaultExists,
    VaultLocked,
    VaultNotFound,
)

# Eager: a lazy name equal to its module's name would be shadowed by the module itself.
from lkvault.vault.printable import UNSAFE_BUT_LINES, printable
from lkvault.vault.progress import NoPhase, NoProgress, Phase, Progress

if TYPE_CHECKING:
    from lkvault.vault.environment import Environment
    from lkvault.vault.export import (
        Connection,
        Conversation,
        Endorsement,
        Export,
        Invitation,
        Message,
        Recommendation,
        summary_document,
        summary_from_document,
    )
    from lkvault.vault.export.contacts import contacts_csv, exportable, vcards
    from lkvault.vault.export.contacts import left_out_line as contacts_left_out
    from lkvault.vault.export.diff import COMPARED as DIFF_FILES
    from lkvault.vault.export.diff import ExportDiff, diff_document, diff_exports
    from lkvault.vault.export.layout import TABLES as EXPORT_TABLES
    from lkvault.vault.export.lazy import LazySequence
    from lkvault.vault.export.links import web_link
    from lkvault.vault.export.messagetable import (
        MessageColumns,
        MessageList,
        MessageTable,
        read_messages,
    )
    from lkvault.vault.export.records import participants
    from lkvault.vault.format.crypto import KdfParams
    from lkvault.vault.format.paperkey import encode as encode_paper_key
    from lkvault.vault.ingest.downloads import DownloadWatcher, Seen
    from lkvault.vault.keys import VaultKeys
    from lkvault.vault.operations.checker import Problem, VerifyReport
    from lkvault.vault.operations.compactor import CompactResult
    from lkvault.vault.operations.compactplan import DEFAULT_MEMORY as DEFAULT_COMPACT_MEMORY
    from lkvault.vault.operations.copier import CopyOutcome
    from lkvault.vault.operations.forgetting import ForgetPlan
    from lkvault.vault.operations.history import (
        dated_day,
        latest_snapshot,
        missing_months,
        parse_day,
        snapshot_day,
    )
    from lkvault.vault.operations.members import MemberView, owner_of
    from lkvault.vault.operations.members import members as members_of
    from lkvault.vault.operations.members import view as member_view
    from lkvault.vault.operations.pruner import PruneResult
    from lkvault.vault.operations.repairer import RepairReport
    from lkvault.vault.operations.retention import Policy, parse_duration
    from lkvault.vault.operations.safewrite import check_replaceable, write_then_rename
    from lkvault.vault.operations.stats import VaultStats
    from lkvault.vault.release import version
    from lkvault.vault.repository.keyslots import KeySlot, SlotInfo, VaultConfig
    from lkvault.vault.repository.snapshots import Snapshot
    from lkvault.vault.stopping import stored_message
    from lkvault.vault.vault import Vault

# name -> (module, attribute): loaded on first use
_LAZY: dict[str, tuple[str, str]] = {
    "Connection": ("lkvault.vault.export", "Connection"),
    "Conversation": ("lkvault.vault.export", "Conversation"),
    "Endorsement": ("lkvault.vault.export", "Endorsement"),
    "Export": ("lkvault.vault.export", "Export"),
    "Invitation": ("lkvault.vault.export", "Invitation"),
    "Message": ("lkvault.vault.export", "Message"),
    "Recommendation": ("lkvault.vault.export", "Recommendation"),
    "summary_document": ("lkvault.vault.export", "summary_document"),
    "summary_from_document": ("lkvault.vault.export", "summary_from_document"),
    "contacts_csv": ("lkvault.vault.export.contacts", "contacts_csv"),
    "exportable": ("lkvault.vault.export.contacts", "exportable"),
    "contacts_left_out": ("lkvault.vault.export.contacts", "left_out_line"),
    "vcards": ("lkvault.vault.export.contacts", "vcards"),
    "web_link": ("lkvault.vault.export.links", "web_link"),
    "DIFF_FILES": ("lkvault.vault.export.diff", "COMPARED"),
    "ExportDiff": ("lkvault.vault.export.diff", "ExportDiff"),
    "diff_document": ("lkvault.vault.export.diff", "diff_document"),
    "diff_exports": ("lkvault.vault.export.diff", "diff_exports"),
    "EXPORT_TABLES": ("lkvault.vault.export.layout", "TABLES"),
    "LazySequence": ("lkvault.vault.export.lazy", "LazySequence"),
    "MessageColumns": ("lkvault.vault.export.messagetable", "MessageColumns"),
    "MessageList": ("lkvault.vault.export.messagetable", "MessageList"),
    "MessageTable": ("lkvault.vault.export.messagetable", "MessageTable"),
    "read_messages": ("lkvault.vault.export.messagetable", "read_messages"),
    "participants": ("lkvault.vault.export.records", "participants"),
    "KdfParams": ("lkvault.vault.format.crypto", "KdfParams"),
    "encode_paper_key": ("lkvault.vault.format.paperkey", "encode"),
    "DownloadWatcher": ("lkvault.vault.ingest.downloads", "DownloadWatcher"),
    "Seen": ("lkvault.vault.ingest.downloads", "Seen"),
    "Problem": ("lkvault.vault.operations.checker", "Problem"),
    "VerifyReport": ("lkvault.vault.operations.checker", "VerifyReport"),
    "DEFAULT_COMPACT_MEMORY": ("lkvault.vault.operations.compactplan", "DEFAULT_MEMORY"),
    "CompactResult": ("lkvault.vault.operations.compactor", "CompactResult"),
    "CopyOutcome": ("lkvault.vault.operations.copier", "CopyOutcome"),
    "ForgetPlan": ("lkvault.vault.operations.forgetting", "ForgetPlan"),
    "dated_day": ("lkvault.vault.operations.history", "dated_day"),
    "latest_snapshot": ("lkvault.vault.operations.history", "latest_snapshot"),
    "missing_months": ("lkvault.vault.operations.history", "missing_months"),
    "parse_day": ("lkvault.vault.operations.history", "parse_day"),
    "snapshot_day": ("lkvault.vault.operations.history", "snapshot_day"),
    "MemberView": ("lkvault.vault.operations.members", "MemberView"),
    "owner_of": ("lkvault.vault.operations.members", "owner_of"),
    "members_of": ("lkvault.vault.operations.members", "members"),
    "member_view": ("lkvault.vault.operations.members", "view"),
    "PruneResult": ("lkvault.vault.operations.pruner", "PruneResult"),
    "RepairReport": ("lkvault.vault.operations.repairer", "RepairReport"),
    "check_replaceable": ("lkvault.vault.operations.safewrite", "check_replaceable"),
    "write_then_rename": ("lkvault.vault.operations.safewrite", "write_then_rename"),
    "Policy": ("lkvault.vault.operations.retention", "Policy"),
    "parse_duration": ("lkvault.vault.operations.retention", "parse_duration"),
    "VaultStats": ("lkvault.vault.operations.stats", "VaultStats"),
    "version": ("lkvault.vault.release", "version"),
    "KeySlot": ("lkvault.vault.repository.keyslots", "KeySlot"),
    "SlotInfo": ("lkvault.vault.repository.keyslots", "SlotInfo"),
    "VaultConfig": ("lkvault.vault.repository.keyslots", "VaultConfig"),
    "Snapshot": ("lkvault.vault.repository.snapshots", "Snapshot"),
    "VaultKeys": ("lkvault.vault.keys", "VaultKeys"),
    "Environment": ("lkvault.vault.environment", "Environment"),
    "Vault": ("lkvault.vault.vault", "Vault"),
    "stored_message": ("lkvault.vault.stopping", "stored_message"),
}


def __getattr__(name: str) -> Any:
    found = _LAZY.get(name)
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(found[0]), found[1])
    globals()[name] = value
    return value


__all__ = [
    "stored_message",
    "DEFAULT_COMPACT_MEMORY",
    "CompactResult",
    "DIFF_FILES",
    "EXPORT_TABLES",
    "AccessDenied",
    "Backend",
    "BadInput",
    "Connection",
    "Conversation",
    "CopyOutcome",
    "DownloadWatcher",
    "Endorsement",
    "Environment",
    "Export",
    "ExportDiff",
    "ForgetPlan",
    "IntegrityError",
    "Invitation",
    "Interrupted",
    "KdfParams",
    "KeySlot",
    "LazySequence",
    "MemberView",
    "Message",
    "MessageColumns",
    "MessageList",
    "MessageTable",
    "NoPhase",
    "NoProgress",
    "Phase",
    "Policy",
    "Problem",
    "Progress",
    "PruneResult",
    "Recommendation",
    "RemoteOptions",
    "RepairReport",
    "RetryPolicy",
    "RollbackDetected",
    "S3Settings",
    "Seen",
    "SlotInfo",
    "Snapshot",
    "SnapshotNotFound",
    "SshSettings",
    "StorageError",
    "UnsupportedFormat",
    "UsageError",
    "Vault",
    "VaultKeys",
    "VaultConfig",
    "VaultError",
    "VaultExists",
    "VaultLocked",
    "VaultNotFound",
    "VaultStats",
    "VerifyReport",
    "contacts_csv",
    "dated_day",
    "diff_document",
    "diff_exports",
    "encode_paper_key",
    "exportable",
    "contacts_left_out",
    "is_remote",
    "latest_snapshot",
    "member_view",
    "members_of",
    "missing_months",
    "open_backend",
    "owner_of",
    "parse_day",
    "parse_duration",
    "parse_location",
    "participants",
    "read_messages",
    "snapshot_day",
    "summary_document",
    "summary_from_document",
    "vcards",
    "web_link",
    "version",
    "check_replaceable",
    "printable",
    "UNSAFE_BUT_LINES",
    "write_then_rename",
]
