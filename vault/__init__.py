"""lkvault's library: encrypted, deduplicating, archive-aware storage of LinkedIn exports.

The public API is what this module exports; everything else is internal.
"""

from .checker import Problem, VerifyReport
from .crypto import KdfParams
from .errors import (
    AccessDenied,
    BadInput,
    IntegrityError,
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
from .repository.keyslots import VaultConfig
from .repository.snapshots import Snapshot
from .vault import Environment, Vault

__all__ = [
    "AccessDenied",
    "BadInput",
    "Environment",
    "IntegrityError",
    "KdfParams",
    "Problem",
    "RollbackDetected",
    "Snapshot",
    "SnapshotNotFound",
    "StorageError",
    "UnsupportedFormat",
    "UsageError",
    "Vault",
    "VaultConfig",
    "VaultError",
    "VaultExists",
    "VaultLocked",
    "VaultNotFound",
    "VerifyReport",
]
