"""Inflate a zip member while proving which zlib parameters re-create its compressed bytes exactly.

Streaming and bounded: a member of any size is inflated piece by piece (`MemberReader.read`),
each piece is fed to every live candidate compressor, and a candidate is dropped at the
first output byte that differs from the original compressed stream, of which only a window is
kept (the bytes not yet compared by every live candidate; a few hundred KiB in practice).
A candidate that survives to the end, final flush included, re-creates the stream byte for
byte, so restore can keep only the content and the `DeflateParams`.

Split invariance: for levels 1-9, zlib's deflate output depends only on the input bytes and the
flush calls, not on how the input is split across `compress()` calls nor on the output buffer
sizes (tests/test_deflate.py checks this), so `Recompressor.feed` takes content in any block
sizes.  Level 0 is different: zlib's stored-block sizes depend on the input split and on the
output buffer space CPython happens to offer, so level 0 is never a candidate and is refused.

Candidates compress with `vault.format.deflater`: lkvault's own deflate, bit-identical to stock
zlib whatever zlib Python links (zlib-ng and other forks compress differently), or the system
zlib where that extension is not built; a restore still checks the bytes it re-creates.
Inflating uses the system zlib (every inflater reads every deflate stream).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lkvault.vault.errors import BadInput
from lkvault.vault.format.deflater import Compressor, compressobj
from lkvault.vault.ingest.zipscan import (
    METHOD_DEFLATED,
    METHOD_STORED,
    RATIO_FLOOR,
    Member,
    ZipLimits,
    format_size,
    quote_name,
)

FEED_BLOCK = 64 << 10  # content goes to candidate compressors in slices of at most this size
READ_CHUNK = 256 << 10  # compressed bytes asked of read_compressed at a time
MAX_AHEAD = 1 << 20  # a candidate may produce this much output beyond the original bytes read
MAX_WINDOW = 16 << 20  # original bytes kept for comparison; candidates lagging more are dropped
SETTLE_BYTES = 256 << 10  # once the first live candidate matched this much, drop the others
PROBE_HEAD = 64 << 10  # a sensible head length for probe()
PROBE_MAX_CONTENT = 16 << 20  # probe() inflates at most this much content

_HINT_FIRST = {  # GP flag bits 1-2 as Info-ZIP sets them: 1 = maximum, 2 = fast, 3 = super fast
    0: [(6, 8), (6, 9)],
    1: [(9, 9), (8, 9), (9, 8), (8, 8)],
    2: [(2, 9), (2, 8)],
    3: [(1, 9), (1, 8)],
}
_LEVEL_ORDER = (6, 9, 8, 7, 5, 4, 3, 2, 1)


@dataclass(frozen=True)
class DeflateParams:
    """Deflate parameters (as zlib.compressobj takes them) that re-create a member's bytes."""

    level: int
    mem_level: int
    strategy: int = 0
    wbits: int = -15

    def compressobj(self) -> Compressor:
        """A fresh compressor; level 0 is refused (its output depends on buffer sizes)."""
        return compressobj(self.level, self.wbits, self.mem_level, self.strategy)


def candidate_params(flags: int) -> list[DeflateParams]:
    """All candidates, most likely first: the GP-flag hint, then level 6/memLevel 8, then others."""
    first = _HINT_FIRST[(flags >> 1) & 3] + ([] if flags & 6 == 0 else _HINT_FIRST[0])
    order = first + [(lv, mem) for lv in _LEVEL_ORDER for mem in (8, 9)]
    return [DeflateParams(lv, mem) for lv, mem in dict.fromkeys(order)]


class _Candidate:
    __slots__ = ("params", "comp", "verified", "ahead")

    def __init__(self, params: DeflateParams) -> None:
        self.params = params
        self.comp = params.compressobj()
        self.verified = 0  # bytes of output equal to the original stream so far
        self.ahead = b""  # output not yet compared: the original bytes have not been read yet


class _Matcher:
    """Feeds content to candidate compressors and keeps those whose output equals the original."""

    def __init__(
        self, candidates: Sequence[DeflateParams], total: int | None, settle: int | None = None
    ) -> None:
        self.live = [_Candidate(p) for p in candidates]
        self.total = total  # length of the original stream, when known
        self.settle = settle  # once live[0] matched this many bytes, drop the other candidates
        self._win = bytearray()  # original bytes [base, end)
        self._base = 0
        self._end = 0

    def add_original(self, data: bytes) -> None:
        self._end += len(data)
        if not self.live:
            self._base = self._end
            return
        self._win += data
        for cand in [c for c in self.live if c.ahead]:
            self._check(cand, b"")

    def add_content(self, data: bytes) -> None:
        if not self.live:
            return
        view = memoryview(data)
        for start in range(0, len(view), FEED_BLOCK):
            piece = view[start : start + FEED_BLOCK]
            for cand in list(self.live):
                out = cand.comp.compress(piece)
                if out:
                    self._check(cand, out)
            live = self.live
            if self.settle is not None and len(live) > 1 and live[0].verified >= self.settle:
                del live[1:]
        self._trim()

    def finish(self) -> list[DeflateParams]:
        """Flush every live candidate; those whose whole output equals the original stream."""
        done = []
        for cand in list(self.live):
            self._check(cand, cand.comp.flush())
            if cand in self.live and not cand.ahead and cand.verified == self._end:
                done.append(cand.params)
        self.live = []
        return done

    def _check(self, cand: _Candidate, out: bytes) -> None:
        if cand.ahead:
            out = cand.ahead + out
        n = min(len(out), self._end - cand.verified)
        start = cand.verified - self._base
        if n and self._win[start : start + n] != out[:n]:
            self.live.remove(cand)
            return
        cand.verified += n
        cand.ahead = out[n:]
        too_far = self.total is not None and cand.verified + len(cand.ahead) > self.total
        if len(cand.ahead) > MAX_AHEAD or too_far:
            self.live.remove(cand)

    def _trim(self) -> None:
        if not self.live:
            self._win.clear()
            self._base = self._end
            return
        self.live = [c for c in self.live if self._end - c.verified <= MAX_WINDOW]
        low = min((c.verified for c in self.live), default=self._end)
        if low - self._base >= max(FEED_BLOCK, len(self._win) // 2):
            del self._win[: low - self._base]
            self._base = low


class MemberReader:
    """Inflates one member's compressed bytes while checking candidate parameters.

    `read_compressed(n)` must return the member's next compressed bytes, at most n of them.
    `candidates=None` tries all of `candidate_params(member.flags)`; `[]` only inflates and
    verifies.  Once the first live candidate has matched `settle_bytes` of compressed output,
    the others are dropped, so a member costs about one re-compression (None keeps them all).
    """

    def __init__(
        self,
        member: Member,
        read_compressed: Callable[[int], bytes],
        limits: ZipLimits,
        candidates: list[DeflateParams] | None,
        *,
        settle_bytes: int | None = SETTLE_BYTES,
    ) -> None:
        if member.encrypted or member.method not in (METHOD_STORED, METHOD_DEFLATED):
            raise ValueError(
                f"MemberReader cannot read member {quote_name(member.name)} "
                f"(method {member.method}, encrypted={member.encrypted})"
            )
        self._member = member
        self._shown = quote_name(member.name)
        self._read_compressed = read_compressed
        self._limits = limits
        self._pulled = 0
        self._produced = 0
        self._crc = 0
        self._done = False
        self._result: DeflateParams | None = None
        self._inflater = zlib.decompressobj(-15)
        self._matcher: _Matcher | None = None
        if member.method == METHOD_DEFLATED and member.compressed_size > 0:
            params = candidate_params(member.flags) if candidates is None else candidates
            self._matcher = _Matcher(params, member.compressed_size, settle_bytes)

    def read(self, n: int = 1 << 20) -> bytes:
        """Next decompressed content (at most n bytes, at least 1 until the end), b"" at end."""
        if n <= 0:
            raise ValueError("read() needs n > 0")
        if self._done:
            return b""
        if self._member.method == METHOD_STORED or self._member.compressed_size == 0:
            out = self._pull(n)
        else:
            out = self._inflate(n)
        if not out:
            self._finish()
            return b""
        self._account(out)
        if self._matcher is not None:
            self._matcher.add_content(out)
        return out

    def result(self) -> DeflateParams | None:
        """After read() returned b"": parameters proven to re-create the compressed bytes."""
        if not self._done:
            raise RuntimeError("result() is known only after read() has returned b''")
        return self._result

    def _pull(self, n: int) -> bytes:
        want = min(n, self._member.compressed_size - self._pulled)
        if want <= 0:
            return b""
        data = self._read_compressed(want)
        if not data:
            raise BadInput(
                f"truncated zip: member {self._shown} ends after {self._pulled} of its "
                f"{self._member.compressed_size} compressed bytes"
            )
        if len(data) > want:
            raise ValueError(f"read_compressed returned {len(data)} bytes, asked for {want}")
        self._pulled += len(data)
        if self._matcher is not None:
            self._matcher.add_original(data)
        return data

    def _inflate(self, n: int) -> bytes:
        room = self._member.uncompressed_size - self._produced + 1  # one byte past is enough
        inflater = self._inflater
        while not inflater.eof:
            buf = inflater.unconsumed_tail or self._pull(READ_CHUNK)
            try:  # with buf empty, this drains output zlib may still hold
                out = inflater.decompress(buf, max(1, min(n, room)))
            except zlib.error as exc:
                raise BadInput(
                    f"corrupt zip: member {self._shown} has damaged compressed data ({exc})"
                ) from None
            if out:
                return out
            if not buf and not inflater.eof:
                raise BadInput(
                    f"corrupt zip: the compressed data of member {self._shown} ends before "
                    "its deflate stream does"
                )
        while self._pull(READ_CHUNK):  # bytes after the end of the deflate stream
            pass
        return b""

    def _account(self, out: bytes) -> None:
        self._produced += len(out)
        m, limits, produced = self._member, self._limits, self._produced
        if produced > m.uncompressed_size:
            raise BadInput(
                f"member {self._shown} claims {m.uncompressed_size} bytes but inflates to more; "
                "refused (a corrupt zip or a zip bomb)"
            )
        if produced > limits.max_member_size:
            raise BadInput(
                f"member {self._shown} expands to more than "
                f"{format_size(limits.max_member_size)}, the per-member limit"
            )
        if produced > RATIO_FLOOR and produced > limits.max_ratio * m.compressed_size:
            raise BadInput(
                f"member {self._shown} expands more than {limits.max_ratio}:1; "
                "refused as a possible zip bomb"
            )
        self._crc = zlib.crc32(out, self._crc)

    def _finish(self) -> None:
        m = self._member
        if self._produced != m.uncompressed_size:
            raise BadInput(
                f"member {self._shown} claims {m.uncompressed_size} bytes "
                f"but inflates to {self._produced}"
            )
        if self._crc != m.crc32:
            raise BadInput(
                f"member {self._shown} fails its CRC-32 check "
                f"(zip says {m.crc32:08x}, content gives {self._crc:08x})"
            )
        if self._matcher is not None:
            found = self._matcher.finish()
            self._result = found[0] if found else None
        self._done = True


class Recompressor:
    """Re-creates a member's compressed bytes from its content, fed in blocks of any size."""

    def __init__(self, params: DeflateParams) -> None:
        self._comp = params.compressobj()

    def feed(self, content: bytes) -> bytes:
        return self._comp.compress(content)

    def finish(self) -> bytes:
        return self._comp.flush()


def probe(member: Member, head: bytes) -> list[DeflateParams]:
    """Candidates whose output matches the first len(head) compressed bytes of the member.

    Staged to stay cheap: the GP-flag hint group of `candidate_params` is tried first (for
    Python, Java and Info-ZIP -9 it holds the answer), and the other candidates only if no
    candidate of that group produced matching output.  Wrong candidates die at their first
    output block; a candidate whose first block does not end within the head is kept.  When
    `head` is the whole member, the survivors are exactly the parameters that re-create it.
    Returns [] for members that are not deflated or are encrypted, and for a head that is not
    valid deflate data.
    """
    if member.method != METHOD_DEFLATED or member.encrypted or not head:
        return []
    head = head[: member.compressed_size]
    candidates = candidate_params(member.flags)
    hinted = len(_HINT_FIRST[(member.flags >> 1) & 3])
    undecided: list[DeflateParams] = []
    for group in (candidates[:hinted], candidates[hinted:]):
        live = _probe_group(member, head, group)
        if live is None:
            return []
        if any(verified for _, verified in live):
            return undecided + [params for params, _ in live]
        undecided += [params for params, _ in live]
    return undecided


def _probe_group(
    member: Member, head: bytes, candidates: list[DeflateParams]
) -> list[tuple[DeflateParams, int]] | None:
    """Survivors among `candidates` with how much they matched; None if the head is not deflate."""
    whole = len(head) == member.compressed_size
    matcher = _Matcher(candidates, len(head) if whole else None)
    matcher.add_original(head)
    inflater = zlib.decompressobj(-15)
    produced, buf = 0, head
    try:
        while matcher.live and produced <= min(PROBE_MAX_CONTENT, member.uncompressed_size):
            out = inflater.decompress(buf, FEED_BLOCK)
            buf = inflater.unconsumed_tail
            produced += len(out)
            matcher.add_content(out)
            if inflater.eof or not (out or buf):
                break
            if not whole and min((c.verified for c in matcher.live), default=0) >= len(head):
                break
    except zlib.error:
        return None
    if whole and inflater.eof and produced == member.uncompressed_size:
        return [(params, len(head)) for params in matcher.finish()]
    return [(c.params, c.verified) for c in matcher.live]
