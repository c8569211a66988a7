"""Types of the optional C extension built from _deflate.c (lkvault's own deflate)."""

from typing_extensions import Buffer

class Deflater:
    def __init__(
        self,
        level: int,
        wbits: int,
        mem_level: int,
        strategy: int,
        zdict: Buffer = ...,
        *,
        track_blocks: bool = False,
    ) -> None: ...
    def compress(self, data: Buffer, /) -> bytes: ...
    def flush(self, mode: int = 4, /) -> bytes: ...
    def block_ends(self) -> list[tuple[int, int]]: ...

def segment(
    level: int,
    wbits: int,
    mem_level: int,
    strategy: int,
    zdict: Buffer,
    data: Buffer,
    stop: int,
    at_end: bool,
    /,
) -> tuple[bytes, int] | None: ...
def append_bits(
    carry: int, carry_bits: int, data: Buffer, nbits: int, /
) -> tuple[bytes, int, int]: ...
def bits_equal(a: Buffer, a_bit: int, b: Buffer, nbits: int, /) -> bool: ...
def scan_blocks(
    data: Buffer, bit: int, content: int, final: bool, /
) -> tuple[list[tuple[int, int]], bool] | None: ...
