"""The vault's index as read from storage: read when first needed, read again, or replaced."""

from __future__ import annotations

from collections.abc import Callable

from lkvault.vault.backend import Backend
from lkvault.vault.errors import IntegrityError
from lkvault.vault.format.crypto import Keys
from lkvault.vault.repository.index import INDEX_PREFIX, Index, decode_index
from lkvault.vault.repository.objects import list_objects


class IndexStore:
    """Holds the index read from every index file, and what was wrong with damaged ones."""

    def __init__(self, backend: Backend, keys: Keys) -> None:
        self.backend = backend
        self.keys = keys
        self._index: Index | None = None
        self.problems: list[tuple[str, str]] = []  # (index file, what is wrong)

    @property
    def index(self) -> Index:
        if self._index is None:
            # A damaged index file must not cost the snapshots other index files describe.
            self._index = self.load(lambda name, exc: self.problems.append((name, str(exc))))
        return self._index

    def use(self, index: Index) -> None:
        """Answer with ``index`` from now on (repair: only the copies it proved whole)."""
        self._index = index

    def reload(self) -> Index:
        """Forget the index read so far and read every index file again."""
        self._index = None
        self.problems = []
        return self.index

    def names(self) -> list[str]:
        """The index files in storage."""
        return list_objects(self.backend, INDEX_PREFIX)

    def load(self, on_error: Callable[[str, Exception], None] | None = None) -> Index:
        """Read every index file. Damaged ones raise, or are reported to ``on_error``."""
        index = Index()
        for name in self.names():
            try:
                packs = decode_index(self.keys, name, self.backend.read(name))
            except (IntegrityError, FileNotFoundError) as exc:
                if on_error is None:
                    raise
                on_error(name, exc)
                continue
            for pack_id, frames in packs.items():
                index.add_pack(pack_id, frames)
        return index
