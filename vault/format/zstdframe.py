"""Zstd compression of one frame, against an optional raw-content prefix, in bounded memory;
and decompression of such a frame against its prefix without a copy of it.

The frames this writes are ordinary zstd frames: a prefix is read back exactly as a
raw-content dictionary (``codec.decompress``). What differs is the memory taken to write
them. Given a dictionary, zstd builds a separate dictionary object with search tables of
its own and then copies them into the compression context, so every table exists twice
(measured: 173 MB for one 4 MiB frame with a 4 MiB dictionary at level 19, 54 MB at level
10). Referenced as a prefix, the dictionary is indexed once, straight into the context
(87 MB and 27 MB). python-zstandard does not offer prefixes in its public API, so this
uses the cffi binding to libzstd that the package ships; when that binding is missing, the
public API's dictionary path writes the same format with more memory. Reading, the public
API copies a dictionary into a dictionary object first (16 MiB more for each frame a
restore decodes at once); ``decompress_with_prefix`` references it instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import zstandard

try:  # the binding python-zstandard's own cffi backend is built on
    from zstandard._cffi import ffi as _ffi
    from zstandard._cffi import lib as _lib

    _PREFIXES = all(
        hasattr(_lib, name)
        for name in ("ZSTD_CCtx_refPrefix_advanced", "ZSTD_compress2", "ZSTD_dct_rawContent")
    )
    _PREFIX_READS = all(
        hasattr(_lib, name)
        for name in ("ZSTD_DCtx_refPrefix_advanced", "ZSTD_decompressDCtx", "ZSTD_dct_rawContent")
    )
    _new_uncleared = _ffi.new_allocator(should_clear_after_alloc=False)
except ImportError:  # pragma: no cover - depends on how zstandard was installed
    _ffi = _lib = _new_uncleared = None
    _PREFIXES = _PREFIX_READS = False

# Levels from BIG_LEVEL up search binary trees, whose tables level 19 sizes at 2^24 chain and
# 2^22 hash entries. For a 4 MiB frame against a 4 MiB prefix these smaller ones compress
# within 0.8 % of that and bring the context from 87 MB to 41 MB (a month of a 300 MB export:
# 7.87 instead of 7.81 MB for 87 MiB of new content).
BIG_LEVEL = 16
BIG_LEVEL_CHAIN_LOG = 23
BIG_LEVEL_HASH_LOG = 18
WINDOW_LOG_LIMIT = 27  # the largest window zstd decoders accept without being told


def prefixes_available() -> bool:
    """True when frames are written with a prefix (the bounded-memory path)."""
    return _PREFIXES


def context_size(level: int, total: int, prefix_size: int = 0) -> int:
    """Estimated bytes of the context ``compress`` needs for such a frame (zstd's estimate)."""
    params = _parameters(level, total, prefix_size)
    return int(params.estimated_compression_context_size())


def prefix_window_log(total: int, prefix_size: int) -> int:
    """A window that reaches from the end of a frame back to the start of its prefix.

    Fast levels keep a 2 MiB window however large the input: against a 4 MiB prefix a
    frame at level 3 could use only its last half (measured on medium exports: months 2 and
    3 stored 747 and 978 KB instead of 600 and 715). Readers accept windows up to 2^27
    (zstd's default limit; level 19 frames already use 2^23), and the prefix is referenced,
    not copied, so a larger window costs no memory.
    """
    return max(10, min(WINDOW_LOG_LIMIT, (total + prefix_size - 1).bit_length()))


def _parameters(level: int, total: int, prefix_size: int) -> zstandard.ZstdCompressionParameters:
    """The level's parameters for this input, with the tables capped at ``BIG_LEVEL`` and up."""
    params = zstandard.ZstdCompressionParameters.from_level(
        level, source_size=total, dict_size=prefix_size
    )
    fields = ("window_log", "chain_log", "hash_log", "search_log", "min_match", "target_length")
    chosen: dict[str, Any] = {name: getattr(params, name) for name in fields}
    if level >= BIG_LEVEL:
        chosen["chain_log"] = min(chosen["chain_log"], BIG_LEVEL_CHAIN_LOG)
        chosen["hash_log"] = min(chosen["hash_log"], BIG_LEVEL_HASH_LOG)
    if prefix_size:
        chosen["window_log"] = max(chosen["window_log"], prefix_window_log(total, prefix_size))
    return zstandard.ZstdCompressionParameters(
        **chosen, strategy=params.strategy, write_content_size=True, write_dict_id=False
    )


def compress(
    pieces: Sequence[bytes | bytearray | memoryview],
    level: int,
    total: int,
    prefix: bytes | None = None,
) -> bytes:
    """One zstd frame of the concatenation of ``pieces`` (``total`` bytes), recording its size.

    With ``prefix``, the frame may refer back into those bytes and only a decompressor given
    the same bytes as a raw-content dictionary can read it; no dictionary id is written.
    """
    if sum(len(piece) for piece in pieces) != total:
        raise ValueError("the pieces of a frame do not add up to its size")
    if _PREFIXES:
        return _compress_lowlevel(pieces, level, total, prefix)
    return _compress_public(pieces, level, total, prefix)


def _compress_public(
    pieces: Sequence[bytes | bytearray | memoryview], level: int, total: int, prefix: bytes | None
) -> bytes:
    options: dict[str, Any] = {"compression_params": _parameters(level, total, len(prefix or b""))}
    if prefix:
        options["dict_data"] = zstandard.ZstdCompressionDict(
            prefix, dict_type=zstandard.DICT_TYPE_RAWCONTENT
        )
    compressor = zstandard.ZstdCompressor(**options).compressobj(size=total)
    out = [compressor.compress(piece) for piece in pieces]
    out.append(compressor.flush())
    return b"".join(out)


def _check(result: int) -> int:
    if _lib.ZSTD_isError(result):
        reason = _ffi.string(_lib.ZSTD_getErrorName(result)).decode()
        raise zstandard.ZstdError(f"zstd failed: {reason}")
    return result


def _compress_lowlevel(
    pieces: Sequence[bytes | bytearray | memoryview], level: int, total: int, prefix: bytes | None
) -> bytes:
    cctx = _ffi.gc(_lib.ZSTD_createCCtx(), _lib.ZSTD_freeCCtx)
    if cctx == _ffi.NULL:
        raise MemoryError("zstd could not allocate a compression context")
    settings = [
        (_lib.ZSTD_c_compressionLevel, level),
        (_lib.ZSTD_c_contentSizeFlag, 1),
        (_lib.ZSTD_c_dictIDFlag, 0),
    ]
    if level >= BIG_LEVEL:
        # The capped tables; zstd lowers them further for small inputs.
        params = _parameters(level, total, len(prefix or b""))
        settings.append((_lib.ZSTD_c_chainLog, params.chain_log))
        settings.append((_lib.ZSTD_c_hashLog, params.hash_log))
    if prefix:
        settings.append((_lib.ZSTD_c_windowLog, _parameters(level, total, len(prefix)).window_log))
    for parameter, value in settings:
        _check(_lib.ZSTD_CCtx_setParameter(cctx, parameter, value))
    _check(_lib.ZSTD_CCtx_setPledgedSrcSize(cctx, total))
    if prefix:
        prefix_buffer = _ffi.from_buffer(prefix)  # referenced, not copied: alive until return
        _check(
            _lib.ZSTD_CCtx_refPrefix_advanced(
                cctx, prefix_buffer, len(prefix), _lib.ZSTD_dct_rawContent
            )
        )
    # One contiguous input compressed in one call: streaming would copy it into a window-sized
    # buffer of zstd's own. The output buffer is left uncleared, so only what is written to it
    # takes memory.
    source = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    capacity = _lib.ZSTD_compressBound(total)
    destination = _new_uncleared("char[]", capacity)
    written = _check(
        _lib.ZSTD_compress2(cctx, destination, capacity, _ffi.from_buffer(source), len(source))
    )
    compressed: bytes = _ffi.buffer(destination, written)[:]
    return compressed


def prefix_reads_available() -> bool:
    """True when ``decompress_with_prefix`` can be used."""
    return _PREFIX_READS


def decompress_with_prefix(
    data: bytes | memoryview, expected_size: int, prefix: bytes | bytearray
) -> bytes:
    """A zstd frame written against ``prefix`` (as a prefix or a raw-content dictionary),
    decompressed; it must yield exactly ``expected_size`` bytes. The prefix is referenced,
    not copied. Raises zstandard.ZstdError for a frame that does not decode so."""
    dctx = _ffi.gc(_lib.ZSTD_createDCtx(), _lib.ZSTD_freeDCtx)
    if dctx == _ffi.NULL:
        raise MemoryError("zstd could not allocate a decompression context")
    prefix_buffer = _ffi.from_buffer(prefix)  # referenced, not copied: alive until return
    raw_content = _lib.ZSTD_dct_rawContent
    _check(_lib.ZSTD_DCtx_refPrefix_advanced(dctx, prefix_buffer, len(prefix), raw_content))
    # One byte of room more than expected, so a frame that holds more cannot pass as exact.
    capacity = expected_size + 1
    destination = _new_uncleared("char[]", capacity)
    written = _check(
        _lib.ZSTD_decompressDCtx(dctx, destination, capacity, _ffi.from_buffer(data), len(data))
    )
    if written != expected_size:
        raise zstandard.ZstdError(f"the frame holds {written} bytes, not {expected_size}")
    content: bytes = _ffi.buffer(destination, written)[:]
    return content
