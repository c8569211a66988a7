"""Content-defined chunking: split a byte stream into chunks at keyed, content-defined cuts.

The cut decision at each stream position is a pseudorandom function (AES-128 under the
vault's chunker key) of the 16 bytes of content ending there, so the boundaries an observer
of chunk sizes sees are not linear in the key (the "sound" class of Truong et al., "Breaking
and Fixing Content-Defined Chunking", CCS 2025).

Normative algorithm (docs/FORMAT.md, "Chunker"): a chunk starting at stream offset ``s`` is
``stream[s:s+L]`` for the smallest ``L`` in ``[min_size, max_size)`` such that, with
``p = s+L-1``::

    v = int.from_bytes(AES128_ECB(key, stream[p-15:p+1])[:8], "little")
    v < (T_small if L < avg_size else T_large)
    T_small = 2**64 // (2*avg_size),  T_large = 2**64 * 2 // avg_size

or ``L = max_size`` if there is none; whatever remains at the end of the stream is the last
chunk. Two implementations of that one rule live here: a pure-Python reference path (AES
through ``cryptography``) and, when built, the C fast path ``vault._cdc`` (AES-NI/VAES).
Both give identical output, whatever the split of the stream across :meth:`Chunker.feed`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import pairwise
from types import ModuleType
from typing import Protocol

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_cdc_module: ModuleType | None
try:
    from lkvault.vault.format import _cdc

    _cdc_module = _cdc
except ImportError:  # not built (no compiler at install time): the reference path is used
    _cdc_module = None

__all__ = ["ACCELERATED", "Chunker", "ChunkerParams", "chunk_lengths"]

KEY_SIZE = 16
WINDOW = 16
_SIZE_FLOOR = 64
_SIZE_CEILING = 2**24

BytesLike = bytes | bytearray | memoryview


def _native_implementations(module: ModuleType | None) -> tuple[str, ...]:
    if module is None:
        return ()
    try:
        return tuple(module.implementations())
    except Exception:  # a stale or foreign build: behave as if it were absent
        return ()


_NATIVE_IMPLS: tuple[str, ...] = _native_implementations(_cdc_module)

ACCELERATED: bool = bool(_NATIVE_IMPLS)
"""True when the C fast path (vault._cdc with AES-NI or VAES) is in use by default."""


@dataclass(frozen=True)
class ChunkerParams:
    """Chunk size bounds in bytes; ``avg_size`` is a power of two strictly between the others."""

    min_size: int = 4096
    avg_size: int = 16384
    max_size: int = 65536

    def validate(self) -> None:
        """Raise ValueError unless 64 <= min < avg < max <= 2**24 and avg is a power of two."""
        for name in ("min_size", "avg_size", "max_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"chunker {name} must be an int, not {type(value).__name__}")
        lo, avg, hi = self.min_size, self.avg_size, self.max_size
        if not _SIZE_FLOOR <= lo < avg < hi <= _SIZE_CEILING:
            raise ValueError(
                f"chunker sizes must satisfy {_SIZE_FLOOR} <= min_size < avg_size < max_size"
                f" <= 2**24; got min_size={lo}, avg_size={avg}, max_size={hi}"
            )
        if avg & (avg - 1):
            raise ValueError(f"chunker avg_size must be a power of two; got {avg}")

    @property
    def t_small(self) -> int:
        """Cut threshold on v while the candidate length is below avg_size."""
        return 2**64 // (2 * self.avg_size)

    @property
    def t_large(self) -> int:
        """Cut threshold on v once the candidate length is avg_size or more."""
        return 2**64 * 2 // self.avg_size


def _check_key(key: object) -> bytes:
    if not isinstance(key, bytes | bytearray | memoryview):
        raise ValueError(f"chunker key must be {KEY_SIZE} bytes, not {type(key).__name__}")
    raw = bytes(key)
    if len(raw) != KEY_SIZE:
        raise ValueError(f"chunker key must be {KEY_SIZE} bytes (AES-128); got {len(raw)}")
    return raw


class _Engine(Protocol):
    def cuts(self, work: memoryview, base: int, start: int, final: bool) -> list[int]:
        """Ends (absolute offsets) of the chunks completed in ``work``.

        ``work`` holds ``stream[base:base+len(work)]``; the open chunk starts at ``start``
        (``base <= start``). With ``final`` the rest of ``work`` is returned as a last chunk.
        """
        ...

    def reset(self) -> None:
        """Forget the stream: the next call starts a new one at offset 0."""
        ...


class _ReferenceEngine:
    """The cut search in Python: AES-ECB over many windows per `cryptography` call.

    Windows ending at positions p, p+16, p+32, ... are consecutive, non-overlapping 16-byte
    blocks of the stream, so 16 ECB calls (one per phase p mod 16) give the PRF value at every
    position of a batch. Values do not depend on where cuts fall, so every position whose value
    is below ``T_large`` (a *candidate*) is kept, in order, until a chunk can use it.
    """

    # positions per batch: 16 ECB calls of 64 KiB each (larger outputs cost page faults)
    BATCH = 65536

    def __init__(self, key: bytes, params: ChunkerParams) -> None:
        self._encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        self._params = params
        self._t_small = params.t_small
        self._t_large = params.t_large
        # v < T_large <=> its top `zero_bits` bits are 0; the top byte of v is byte 7 of the
        # AES output. It must be 0 when zero_bits >= 8, else below 2**(8-zero_bits).
        zero_bits = 64 - (self._t_large.bit_length() - 1)
        top_limit = 1 << max(0, 8 - zero_bits)
        self._top_byte_table: bytes | None = (
            None if top_limit == 1 else bytes(0 if b < top_limit else 1 for b in range(256))
        )
        self._candidates: deque[tuple[int, bool]] = deque()  # (position, v < T_small)
        self._frontier = 0  # every position below it has been evaluated (or is never needed)

    def reset(self) -> None:
        self._candidates.clear()
        self._frontier = 0

    def _evaluate(self, work: memoryview, base: int, first: int, stop: int) -> None:
        """Append the candidates among positions [first, stop) (first-15 >= base)."""
        update = self._encryptor.update
        t_small, t_large, table = self._t_small, self._t_large, self._top_byte_table
        found: list[tuple[int, bool]] = []
        for phase in range(min(WINDOW, stop - first)):
            pos0 = first + phase
            count = (stop - pos0 + WINDOW - 1) // WINDOW
            offset = pos0 - (WINDOW - 1) - base
            out = update(work[offset : offset + WINDOW * count])
            top = out[7::WINDOW]
            if table is not None:
                top = top.translate(table)
            i = top.find(0)
            while i >= 0:
                v = int.from_bytes(out[WINDOW * i : WINDOW * i + 8], "little")
                if v < t_large:
                    found.append((pos0 + WINDOW * i, v < t_small))
                i = top.find(0, i + 1)
        found.sort()
        self._candidates.extend(found)

    def cuts(self, work: memoryview, base: int, start: int, final: bool) -> list[int]:
        params = self._params
        candidates = self._candidates
        end = base + len(work)
        ends: list[int] = []
        s = start
        while True:
            lo = s + params.min_size - 1  # position p of L = min_size
            hi = s + params.max_size - 2  # L = max_size - 1
            mid = s + params.avg_size - 1  # L = avg_size
            while candidates and candidates[0][0] < lo:
                candidates.popleft()
            self._frontier = max(self._frontier, lo)
            cut = -1
            while cut < 0:
                while candidates and candidates[0][0] <= hi:
                    pos, small = candidates.popleft()
                    if small or pos >= mid:
                        cut = pos
                        break
                if cut >= 0 or self._frontier > hi:
                    break
                stop = min(self._frontier + self.BATCH, end)
                if stop <= self._frontier:
                    break  # needs more data
                self._evaluate(work, base, self._frontier, stop)
                self._frontier = stop
            if cut >= 0:
                s = cut + 1
            elif self._frontier > hi and end - s >= params.max_size:
                s += params.max_size
            else:
                break
            ends.append(s)
        if final and s < end:
            ends.append(end)
        return ends


class _NativeEngine:
    """The cut search in vault._cdc, with the GIL released."""

    def __init__(self, key: bytes, params: ChunkerParams, impl: str) -> None:
        assert _cdc_module is not None
        self._cuts = _cdc_module.cuts
        self._key = key
        self._sizes = (params.min_size, params.avg_size, params.max_size)
        self._impl = impl
        self._scanned = 0  # absolute; positions below it are not cuts for the open chunk

    def reset(self) -> None:
        self._scanned = 0

    def cuts(self, work: memoryview, base: int, start: int, final: bool) -> list[int]:
        scanned = max(0, self._scanned - base)
        rel_ends, scanned = self._cuts(
            self._key, work, start - base, scanned, *self._sizes, final, self._impl
        )
        self._scanned = base + scanned
        return [base + e for e in rel_ends]


def _make_engine(key: bytes, params: ChunkerParams, implementation: str | None) -> _Engine:
    if implementation is None:
        implementation = _NATIVE_IMPLS[0] if _NATIVE_IMPLS else "reference"
    if implementation == "reference":
        return _ReferenceEngine(key, params)
    if implementation == "native":
        if not _NATIVE_IMPLS:
            raise ValueError("the C chunker (vault._cdc) is not available here")
        implementation = _NATIVE_IMPLS[0]
    if implementation not in _NATIVE_IMPLS:
        raise ValueError(
            f"chunker implementation {implementation!r} is not available here; "
            f"available: {('reference', *_NATIVE_IMPLS)}"
        )
    return _NativeEngine(key, params, implementation)


def implementations() -> tuple[str, ...]:
    """Names accepted by ``Chunker(..., implementation=)`` here: ``"reference"`` and the C ones."""
    return ("reference", *_NATIVE_IMPLS)


class Chunker:
    """Streaming: feed blocks of any size, get back complete chunks.

    Holds at most ``max_size`` bytes of an unfinished chunk plus the block being fed.
    One instance serves one stream at a time and is not thread-safe; the C path releases
    the GIL, so separate instances in separate threads run in parallel.
    ``implementation`` is for tests and benchmarks: None picks the fastest available,
    ``"reference"`` forces the pure-Python path, ``"native"``/``"aesni"``/``"vaes"`` the C one.
    """

    def __init__(
        self,
        key: bytes,
        params: ChunkerParams = ChunkerParams(),  # noqa: B008 (frozen, so sharing is safe)
        *,
        implementation: str | None = None,
    ) -> None:
        params.validate()
        self._params = params
        self._engine = _make_engine(_check_key(key), params, implementation)
        self._pending = bytearray()  # stream[self._start:], the open chunk
        self._start = 0  # stream offset of the open chunk

    @property
    def params(self) -> ChunkerParams:
        return self._params

    def feed(self, data: BytesLike) -> list[bytes]:
        """Append ``data`` to the stream; return the chunks it completed, in order."""
        return self._run(data, final=False)

    def finish(self) -> list[bytes]:
        """End the stream: return its last chunk (or nothing), then start afresh."""
        try:
            return self._run(b"", final=True)
        finally:
            self._engine.reset()
            self._pending = bytearray()
            self._start = 0

    def _run(self, data: BytesLike, final: bool) -> list[bytes]:
        with memoryview(data) as raw:
            block = raw if raw.format == "B" and raw.ndim == 1 else raw.cast("B")
            if not self._pending:
                return self._scan(block, owned=False, final=final)
            self._pending += block
        with memoryview(self._pending) as view:
            return self._scan(view, owned=True, final=final)

    def _scan(self, work: memoryview, owned: bool, final: bool) -> list[bytes]:
        """Cut ``work`` (= stream[self._start:]) and keep its unfinished tail."""
        if not work and not final:
            return []
        base = self._start
        ends = self._engine.cuts(work, base, base, final)
        chunks: list[bytes] = []
        prev = 0
        for e in ends:
            chunks.append(work[prev : e - base].tobytes())
            prev = e - base
        if ends:
            self._start = ends[-1]
        if owned:
            work.release()
            del self._pending[:prev]
        elif prev < len(work):
            self._pending = bytearray(work[prev:])
        return chunks


def chunk_lengths(
    key: bytes,
    params: ChunkerParams,
    data: BytesLike,
    *,
    implementation: str | None = None,
) -> list[int]:
    """Lengths of the chunks of ``data`` taken as a whole stream (convenience)."""
    params.validate()
    engine = _make_engine(_check_key(key), params, implementation)
    with memoryview(data) as raw:
        work = raw if raw.format == "B" and raw.ndim == 1 else raw.cast("B")
        ends = engine.cuts(work, 0, 0, final=True)
    return [b - a for a, b in pairwise([0, *ends])]
