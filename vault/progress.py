"""The progress-reporting interface the library calls; the CLI decides how to show it.

An operation reports its main work through ``start``/``advance``/``done``, and each further
phase that runs beside it (a snapshot proves, compresses and writes while it reads) through
a ``Phase`` of its own: one bar per phase, each reaching its total only when its work is
done. A phase whose total is not known yet is started without one and given it once known
(``set_total``), rather than shown full while work remains.
"""

from __future__ import annotations

from typing import Protocol


class Phase(Protocol):
    def advance(self, amount: int) -> None: ...

    def set_total(self, total: int) -> None: ...


class Progress(Protocol):
    def start(self, label: str, total: int | None) -> None: ...

    def advance(self, amount: int) -> None: ...

    def phase(self, label: str, total: int | None = None) -> Phase: ...

    def done(self) -> None: ...


class NoPhase:
    """Reports nothing."""

    def advance(self, amount: int) -> None:
        pass

    def set_total(self, total: int) -> None:
        pass


class NoProgress:
    """Reports nothing."""

    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def phase(self, label: str, total: int | None = None) -> Phase:
        return NoPhase()

    def done(self) -> None:
        pass
