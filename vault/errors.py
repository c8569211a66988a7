"""The one exception tree of lkvault; the CLI maps it to exit codes in one place.

VaultError                      base; "the operation failed" (exit 1)
├── UsageError                  the caller asked for something impossible (exit 2)
│   ├── VaultNotFound
│   ├── VaultExists
│   ├── SnapshotNotFound
│   └── BadInput                the input file cannot be stored as asked
├── AccessDenied                wrong passphrase or no usable key (exit 3)
├── IntegrityError              corrupt or hostile data in the vault (exit 1)
│   ├── UnsupportedFormat       a format version this build cannot read
│   └── RollbackDetected        the vault is older than one this client saw
└── StorageError                the storage failed, perhaps transiently (exit 1)
    ├── VaultLocked             another process holds the vault's lock
    └── ReadOnlyStorage         the storage refuses every write (a read-only disk or mount)

Interrupted (a KeyboardInterrupt, not a VaultError): a signal stopped an operation, which
cleaned up and says what it did and did not store (exit 130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations


class VaultError(Exception):
    """Base of every error lkvault raises on purpose."""


class UsageError(VaultError):
    """The caller asked for something that cannot be done (bad option, bad input)."""


class VaultNotFound(UsageError):
    """There is no vault at the given location."""


class VaultExists(UsageError):
    """A vault already exists where a new one was to be created."""


class SnapshotNotFound(UsageError):
    """No snapshot (or more than one) matches the given reference."""


class BadInput(UsageError):
    """The input file is unreadable, malformed or beyond the configured limits."""


class AccessDenied(VaultError):
    """The passphrase opens no key slot, or no passphrase was given."""


class IntegrityError(VaultError):
    """Stored data failed authentication or does not match what refers to it."""


class UnsupportedFormat(IntegrityError):
    """The vault or an object uses a format version this build does not know."""


class RollbackDetected(IntegrityError):
    """The vault shows fewer or older snapshots than this client already saw."""


class StorageError(VaultError):
    """Reading or writing the storage failed."""


class VaultLocked(StorageError):
    """Another live process holds a conflicting lock on the vault."""


class ReadOnlyStorage(StorageError):
    """The storage refuses writes: a read-only disk, mount or folder."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or a termination signal stopped an operation after it cleaned up; the message
    says what was stored and what was not."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
