"""A read-only sequence whose items are made only when they are read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar, overload

T = TypeVar("T")


class LazySequence(Sequence[T]):
    """Indexing and slicing over ``item(number)``: making every item of 400,000 up front
    would cost seconds for the few dozen a page shows. Subclasses give ``__len__``,
    ``item`` and ``what`` (named in the error for a number out of range)."""

    what = "item"

    def __len__(self) -> int:
        raise NotImplementedError

    def item(self, number: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self.item(n) for n in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"{self.what} number out of range")
        return self.item(index)
