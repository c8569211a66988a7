"""How many frames reading a frame decodes, as bit masks, so that writers keep reads bounded."""

from __future__ import annotations

from lkvault.vault.errors import IntegrityError
from lkvault.vault.repository.dictionaries import Locate
from lkvault.vault.repository.framecache import frame_key
from lkvault.vault.repository.index import FrameRef

# Reading a blob decodes its frame and, first, every frame its dictionary draws on, and
# theirs in turn. Writers keep that set to this many frames for every frame they write, so
# a lone read costs at most this many frame decodes however long the chains grow (operations
# that read many frames stage them: staging.py). docs/benchmarks.md tells how 512 was chosen.
MAX_DECODE_FRAMES = 512


class DecodeSets:
    """The set of frames reading each frame decodes, worked out once per index."""

    def __init__(self, locate: Locate) -> None:
        self.locate = locate  # where a frame's dictionary blobs lie (dictionaries.py)
        # Bit masks over frames numbered as met: a frame's set may name up to
        # MAX_DECODE_FRAMES frames, ~40 bytes each in a Python set, for every frame written.
        self._sets: dict[tuple[bytes, int], int | None] = {}
        self._frame_bits: dict[tuple[bytes, int], int] = {}

    def forget(self) -> None:
        """Work decode sets out again (the index they were worked out from changed)."""
        self._sets.clear()
        self._frame_bits.clear()

    def of(self, ref: FrameRef) -> int | None:
        """The frames reading ``ref`` decodes (itself, and transitively those its dictionary
        draws on), as a bit mask with a bit per frame (``int.bit_count`` is their number);
        None if more than MAX_DECODE_FRAMES or unreadable."""
        key = frame_key(ref)
        if key not in self._sets:
            self._sets[key] = self._find(ref)
        return self._sets[key]

    def _find(self, ref: FrameRef) -> int | None:
        try:
            locations = self.locate(ref.entry) if ref.entry.has_dictionary else []
        except IntegrityError:
            return None
        key = frame_key(ref)
        frames = 1 << self._frame_bits.setdefault(key, len(self._frame_bits))
        for location in locations:
            below = self.of(location.frame)
            if below is None:
                return None
            frames |= below
        if frames.bit_count() > MAX_DECODE_FRAMES:
            return None
        return frames
