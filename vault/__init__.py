"""lkvault's library: encrypted, deduplicating, archive-aware storage of LinkedIn exports.

The public API is what this module exports (the front ends in lkvault.cli import nothing
else); everything else is internal and may change between versions.
"""

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
from lkvault.vault.export.diff import COMPARED as DIFF_FILES
from lkvault.vault.export.diff import ExportDiff, diff_document, diff_exports
from lkvault.vault.export.layout import TABLES as EXPORT_TABLES
from lkvault.vault.export.lazy import LazySequence
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
from lkvault.vault.operations.checker import Problem, VerifyReport
from lkvault.vault.operations.compactor import DEFAULT_MEMORY as DEFAULT_COMPACT_MEMORY
from lkvault.vault.operations.compactor import CompactResult
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
from lkvault.vault.operations.restorer import check_replaceable, write_then_rename
from lkvault.vault.operations.retention import Policy, parse_duration
from lkvault.vault.operations.stats import VaultStats
from lkvault.vault.printable import UNSAFE_BUT_LINES, printable
from lkvault.vault.progress import NoPhase, NoProgress, Phase, Progress
from lkvault.vault.release import version
from lkvault.vault.repository.keyslots import KeySlot, SlotInfo, VaultConfig
from lkvault.vault.repository.snapshots import Snapshot
from lkvault.vault.vault import Environment, Vault, stored_message

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
    "version",
    "check_replaceable",
    "printable",
    "UNSAFE_BUT_LINES",
    "write_then_rename",
]
