"""Whose export it is: the member's name from Profile.csv, else the one person in every message,
else the one person in every invitation.

Pure. An export's messages have the member in every row, as the sender or among the
recipients; anyone else is in some conversations only; the same holds of invitations (From,
To). ``MessageOwner`` is fed the rows one at a time (it keeps the few names still in every
row, never the rows), so the summary taken while a snapshot streams by and the full parse
agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from lkvault.vault.export.model import Invitation, Message, Owner
from lkvault.vault.export.records import split_list, split_names


def profile_owner(profile: Mapping[str, str]) -> Owner | None:
    """The member named in Profile.csv (first and last name as written), if named there."""
    name = " ".join(
        part.strip() for part in (profile.get("First Name"), profile.get("Last Name")) if part
    )
    return Owner(name, "profile") if name.strip() else None


class MessageOwner:
    """The one name present in every message (or invitation) seen, as sender or recipient."""

    def __init__(self, source: Literal["messages", "invitations"] = "messages") -> None:
        self.source = source
        self._candidates: list[str] | None = None  # None until a row names someone

    def add(self, sender: str, recipients: Iterable[str]) -> None:
        names = [name for name in (sender, *recipients) if name]
        if not names:
            return  # a row naming nobody says nothing of the owner
        if self._candidates is None:
            self._candidates = list(dict.fromkeys(names))
        elif self._candidates:
            self._candidates = [name for name in self._candidates if name in names]

    def add_cells(self, sender: str, recipients: str, urls: str) -> None:
        """``add`` from the cells as written (``records.message`` splits them the same way):
        only the first row is split; later, a candidate is looked for as a whole name in the
        joined recipients, which finds names holding a comma (', PhD') too."""
        if not sender and not recipients:
            return
        if self._candidates is None:
            expected = len(split_list(urls))
            self.add(sender, split_names(recipients, expected))
        elif self._candidates:
            self._candidates = [
                name for name in self._candidates if name == sender or _holds(recipients, name)
            ]

    def merge(self, other: MessageOwner) -> None:
        """What ``other`` saw (another part of the same table) taken in as if seen here."""
        if other._candidates is None:
            return
        if self._candidates is None:
            self._candidates = list(other._candidates)
        else:
            self._candidates = [name for name in self._candidates if name in other._candidates]

    @property
    def owner(self) -> Owner | None:
        """The member, when exactly one name is in every message (two people who only wrote
        to each other cannot be told apart)."""
        if self._candidates is not None and len(self._candidates) == 1:
            return Owner(self._candidates[0], self.source)
        return None


def _holds(recipients: str, name: str) -> bool:
    """Whether ``name`` is one of the comma-joined ``recipients`` (whole names only)."""
    at = recipients.find(name)
    while at != -1:
        end = at + len(name)
        before_ok = at == 0 or recipients[:at].rstrip().endswith(",")
        after_ok = end == len(recipients) or recipients[end:].lstrip()[:1] in (",", "")
        if before_ok and after_ok:
            return True
        at = recipients.find(name, at + 1)
    return False


def owner_of(
    profile: Mapping[str, str] | None,
    messages: Iterable[Message],
    invitations: Iterable[Invitation],
) -> Owner | None:
    """Whose export it is: from the profile when the export has Profile.csv (``profile`` not
    None, even when it names nobody), else from the messages, else the invitations."""
    if profile is not None:
        return profile_owner(profile)
    by_messages = MessageOwner()
    for message in messages:
        by_messages.add(message.sender, message.recipients)
    if by_messages.owner is not None:
        return by_messages.owner
    by_invitations = MessageOwner("invitations")
    for invitation in invitations:
        by_invitations.add(invitation.sender, (invitation.recipient,))
    return by_invitations.owner
