"""lkvault's library: encrypted, deduplicating, archive-aware storage of LinkedIn exports.

The public API is what this module exports; everything else is internal.
"""

from lkvault.vault.errors import (
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
from lkvault.vault.format.crypto import KdfParams
from lkvault.vault.operations.checker import Problem, VerifyReport
from lkvault.vault.release import version
from lkvault.vault.repository.keyslots import VaultConfig
from lkvault.vault.repository.snapshots import Snapshot
from lkvault.vault.vault import Environment, Vault

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
    "version",
]
