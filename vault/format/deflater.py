"""Raw deflate compressors whose output is stock zlib's, whatever zlib this computer links.

lkvault proves at snapshot time which deflate parameters re-create a zip member's compressed
bytes, and re-creates them at restore; both must compress exactly as stock zlib (1.2.12 to
1.3.x) does, on every computer. Python's ``zlib`` module links the system library, which is
zlib-ng on Fedora 40 and later and compresses differently, so lkvault carries its own
compressor (the C extension ``_deflate``, bit-identical to stock zlib for levels 1-9,
memLevel 1-9, raw window bits 9-15, every strategy, a preset dictionary and any input split).

Where the extension was not built (no C compiler at install time), `compressobj` falls back
to the system zlib, and `fallback_notice` says so once per process.
"""

from __future__ import annotations

import zlib
from typing import Protocol

_NativeDeflater: type[_deflate.Deflater] | None
try:
    from lkvault.vault.format import _deflate

    _NativeDeflater = _deflate.Deflater
except ImportError:  # not built (no compiler at install time): the system zlib is used
    _NativeDeflater = None

__all__ = [
    "BUILT",
    "IMPLEMENTATION",
    "Compressor",
    "block_ends",
    "compressobj",
    "fallback_notice",
    "system_implementation",
]

Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FULL_FLUSH, Z_FINISH = 0, 2, 3, 4

BytesLike = bytes | bytearray | memoryview

BUILT: bool = _NativeDeflater is not None
"""True when lkvault's own deflate (the C extension) is in use."""

NATIVE_NAME = "lkvault-deflate 1 (stock zlib 1.2.12+ output)"


def system_implementation() -> str:
    """The name of the zlib Python's ``zlib`` module links, e.g. ``zlib 1.2.13``."""
    ng_version = getattr(zlib, "ZLIBNG_RUNTIME_VERSION", None)  # the PyPI zlib-ng module
    if isinstance(ng_version, str):
        return f"zlib-ng {ng_version}"
    return f"zlib {zlib.ZLIB_RUNTIME_VERSION}"


IMPLEMENTATION: str = NATIVE_NAME if BUILT else system_implementation()
"""What `compressobj` compresses with; recorded in snapshots as the prover of their members."""


class Compressor(Protocol):
    """The part of ``zlib.compressobj()`` lkvault uses."""

    def compress(self, data: BytesLike, /) -> bytes: ...

    def flush(self, mode: int = Z_FINISH, /) -> bytes: ...


def compressobj(
    level: int,
    wbits: int = -15,
    mem_level: int = 8,
    strategy: int = 0,
    zdict: BytesLike | None = None,
    *,
    native: bool | None = None,
    track_blocks: bool = False,
) -> Compressor:
    """A raw deflate compressor (``wbits`` -9 to -15), as ``zlib.compressobj`` would give.

    ``native=None`` uses lkvault's own deflate when it is built, else the system zlib;
    True insists on lkvault's (ImportError if it is not built), False on the system zlib.
    Level 0 is refused: its stored-block sizes depend on the caller's buffer sizes.
    ``track_blocks``: lkvault's compressor then also lists where its blocks end, in
    ``block_ends()`` (see `block_ends`); the system zlib cannot.
    """
    if not 1 <= level <= 9:
        raise ValueError(f"deflate level {level} cannot be reproduced; use 1 to 9")
    if not -15 <= wbits <= -9:
        raise ValueError(f"wbits {wbits} is not raw deflate with a 512 B to 32 KiB window")
    use_native = BUILT if native is None else native
    if use_native:
        if _NativeDeflater is None:
            raise ImportError("lkvault's deflate extension (_deflate) is not built")
        if zdict is None:
            return _NativeDeflater(level, wbits, mem_level, strategy, track_blocks=track_blocks)
        return _NativeDeflater(level, wbits, mem_level, strategy, zdict, track_blocks=track_blocks)
    if zdict is None:
        return zlib.compressobj(level, zlib.DEFLATED, wbits, mem_level, strategy)
    return zlib.compressobj(level, zlib.DEFLATED, wbits, mem_level, strategy, zdict)


def block_ends(compressor: Compressor) -> list[tuple[int, int]] | None:
    """(content offset, bit offset) of each non-final block end a tracking compressor wrote
    since the last call, or None for a compressor that does not track them."""
    if _NativeDeflater is not None and isinstance(compressor, _NativeDeflater):
        return compressor.block_ends()
    return None


_notice_given = False


def fallback_notice() -> str | None:
    """The warning that the system zlib stands in for lkvault's deflate: once per process.

    None when lkvault's deflate is built, and on every call after the first.
    """
    global _notice_given
    if BUILT or _notice_given:
        return None
    _notice_given = True
    return (
        f"lkvault's own deflate is not built (no C compiler at install time); zip members are "
        f"re-created with this computer's {system_implementation()}, which may not reproduce "
        f"them elsewhere (reinstall lkvault with a C compiler to fix this)"
    )
