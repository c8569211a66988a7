"""Whether a vault shows less than this computer saw before: a rollback, or an alteration.

This computer remembers the newest snapshot it saw (repository.headstate); a vault whose
snapshots no longer reach it was put back to an older copy, or altered. A snapshot removed by
'lkvault forget' or 'repair' left a forget record naming the snapshot it continued, which must
still be there.
"""

from __future__ import annotations

from lkvault.vault.errors import RollbackDetected
from lkvault.vault.repository.headstate import SeenHead
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import Snapshot, load_forgotten, survivor_of

WAY_OUT = (
    "run 'lkvault verify'; if you put back an older copy of the vault yourself, "
    "'lkvault verify --accept-rollback' trusts it as it is now"
)


def rollback_warning(repo: Repository, seen: SeenHead | None, found: list[Snapshot]) -> str | None:
    """A message when ``found`` (the vault's snapshots) shows less than ``seen``, else None."""
    if seen is None:
        return None
    forgotten = load_forgotten(repo, lambda name, exc: None)
    if seen.snapshot_id in forgotten:
        # Removed by 'lkvault forget' or 'repair', not behind lkvault's back; the snapshot
        # it continued must still be there (or be forgotten too).
        survivor = survivor_of(seen.snapshot_id, forgotten)
        if survivor is None or any(s.id == survivor for s in found):
            return None
        return (
            f"this vault was rolled back or altered: snapshot {survivor.hex()[:8]}, which "
            f"came before the forgotten #{seen.seq} this computer saw, is no longer there"
        )
    newest = found[-1].seq if found else 0
    if newest < seen.seq or not any(s.seq == seen.seq and s.id == seen.snapshot_id for s in found):
        return (
            f"this vault was rolled back or altered: this computer saw snapshot "
            f"#{seen.seq} ({seen.snapshot_id.hex()[:8]}), which is no longer there"
        )
    return None


def refuse_rollback(
    repo: Repository, seen: SeenHead | None, found: list[Snapshot], doing: str
) -> None:
    """RollbackDetected, saying the vault will not ``doing``, when ``found`` was rolled back."""
    warning = rollback_warning(repo, seen, found)
    if warning is not None:
        raise RollbackDetected(f"{warning}; refusing to {doing} ({WAY_OUT})")
