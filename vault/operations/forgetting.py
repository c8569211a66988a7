"""Forgetting snapshots: choosing them (by id or by a retention policy), then removing them
with a forget record first and their files after (docs/FORMAT.md, "Forget records").

Once the record is written the snapshots are gone for every reader, so a forget killed before
it deleted every file is complete anyway; the files left are deleted by the next forget or
prune. Their data stays until 'lkvault prune'. Policies count the day each export was made
(vault.operations.history), not the day it was stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from lkvault.vault.errors import UsageError
from lkvault.vault.operations.history import DAY_STORED, dated_day
from lkvault.vault.operations.members import owner_of
from lkvault.vault.operations.retention import Candidate, Policy, Verdict, apply_policy
from lkvault.vault.repository.repo import Repository
from lkvault.vault.repository.snapshots import (
    Forgotten,
    Snapshot,
    delete_forgotten_files,
    load_forgotten,
    write_forget_record,
)


@dataclass
class ForgetPlan:
    """Which snapshots go and which stay, and why."""

    history: list[Snapshot] = field(default_factory=list)  # every snapshot before
    verdicts: list[Verdict] = field(default_factory=list)  # one per snapshot, with a policy
    remove: list[Snapshot] = field(default_factory=list)
    reason: str = ""

    @property
    def flagged(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.flagged]


def plan_forget(
    history: list[Snapshot],
    policy: Policy | None,
    chosen: list[Snapshot],
    now: datetime,
    zone: tzinfo,
) -> ForgetPlan:
    """Snapshots named by the user (``chosen``), or those ``policy`` does not keep.

    Any snapshot may go, the newest included: its forget record keeps its place in the chain
    (the next snapshot continues from it), so rollback detection loses nothing.
    """
    if chosen and policy is not None and not policy.empty:
        raise UsageError("name snapshots to forget, or give a policy (--keep-...), not both")
    if chosen:
        unique = {s.id: s for s in chosen}
        return ForgetPlan(history, remove=list(unique.values()), reason="named by the user")
    candidates = [Candidate(s.id, s.seq, s.time, _export_day(s, zone), _member(s)) for s in history]
    verdicts = apply_policy(candidates, policy or Policy(), now, zone)
    by_id = {s.id: s for s in history}
    remove = [by_id[v.candidate.id] for v in verdicts if not v.keep]
    reason = f"retention policy: keep {(policy or Policy()).describe()}"
    return ForgetPlan(history, verdicts, remove, reason)


def _member(snapshot: Snapshot) -> str | None:
    """Whose export the snapshot is (retention keeps each member's), if known."""
    owner = owner_of(snapshot)
    return owner.name if owner is not None else None


def _export_day(snapshot: Snapshot, zone: tzinfo) -> date | None:
    """The day the snapshot's export was made, if it says (retention counts it)."""
    day, source = dated_day(snapshot, zone)
    return None if source == DAY_STORED else day


def forget_snapshots(repo: Repository, plan: ForgetPlan) -> int:
    """Remove the plan's snapshots: one forget record, then their files. The caller holds
    the exclusive lock. Returns how many snapshot files were deleted (including files an
    earlier, interrupted forget left)."""
    if plan.remove:
        write_forget_record(repo, [Forgotten.of(s, plan.reason) for s in plan.remove])
    return delete_forgotten_files(repo, load_forgotten(repo))
