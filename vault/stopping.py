"""What a stopped operation says it left behind: the one line a signal turns into.

Every operation can be stopped at any moment and leaves the vault consistent; these lines
tell the user which state it was left in (stored, not started, not written).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lkvault.vault.errors import Interrupted
from lkvault.vault.repository.snapshots import Snapshot


def stored_message(created: Snapshot) -> str:
    """What to say when an interrupt lands after a snapshot was recorded."""
    return f"interrupted after snapshot {created.short_id} was stored (it is complete)"


COMPACT_NOT_STARTED = (
    "interrupted; compact stopped, the vault is consistent (it was still planning: nothing was "
    "changed)"
)
VERIFY_STOPPED = (
    "interrupted; verify stopped before it finished, so it says nothing about what it did not "
    "read (verify changes nothing in the vault)"
)


def restore_stopped(target: Path, existed: bool) -> str:
    """What to say when an interrupt stops a restore to ``target``: no partial file is left."""
    kept = " (the file that was there is unchanged)" if existed else ""
    return f"interrupted; restore stopped, {target} was not written{kept}; the vault is unchanged"


def extract_stopped(folder: Path) -> str:
    """What to say when an interrupt stops an extraction into ``folder``."""
    return (
        f"interrupted; extraction into {folder} stopped: the files written so far stay, "
        "none is left half-written; the vault is unchanged"
    )


@contextmanager
def interrupt_says(message: str) -> Iterator[None]:
    """A signal (KeyboardInterrupt) inside the block becomes ``Interrupted(message)``: one
    line saying what the stopped command left behind."""
    try:
        yield
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise Interrupted(message) from None
