"""Scratch space for content that must be read back out of order: memory, then an encrypted file.

Up to ``memory_limit`` bytes stay in memory. Beyond that everything moves to an unnamed
temporary file, encrypted with AES-256-CTR under a random key that never leaves this process,
so a member's plaintext (someone's messages) never reaches the disk and a crash leaves only
noise behind, which the system removes with the file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from lkvault.vault.errors import StorageError

MEMORY_LIMIT = 16 << 20
BLOCK = 16  # AES block: the counter advances once per 16 bytes
WINDOW = 4 << 20  # ranges put in order at a time, from the disk (held while they are)
GAP = 32 << 10  # read through a gap this small rather than start another read
SPAN = 1 << 20  # the most one read takes in (two buffers of it are held)


class Spill:
    """Write bytes once, in order; then read any range of them.

    Other threads may ``read_at`` what was written while one thread writes more (a restore
    stages frames read by the workers that decode the next ones)."""

    def __init__(
        self,
        memory_limit: int | None = None,
        directory: str | None = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.size = 0
        self._memory_limit = MEMORY_LIMIT if memory_limit is None else memory_limit
        self._directory = directory
        self._random_bytes = random_bytes
        self._memory = bytearray()
        self._fd: int | None = None
        self._key = b""

    def __enter__(self) -> Spill:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def on_disk(self) -> bool:
        return self._fd is not None

    def write(self, data: bytes) -> None:
        if self._fd is None and self.size + len(data) > self._memory_limit:
            self._move_to_disk()
        if self._fd is None:
            self._memory += data
        else:
            # A SPAN at a time: the encrypted copy of a 16 MiB frame at once was that much
            # more memory at a restore's peak.
            view = memoryview(data)
            for start in range(0, len(view), SPAN):
                piece = view[start : start + SPAN]
                self._pwrite(self._crypt(self.size + start, piece), self.size + start)
        self.size += len(data)

    def read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise ValueError(f"range {offset}+{length} is outside the {self.size} bytes written")
        if self._fd is None:
            return bytes(self._memory[offset : offset + length])
        data = b""
        try:
            while len(data) < length:
                piece = os.pread(self._fd, length - len(data), offset + len(data))
                if not piece:
                    raise OSError("the temporary file is shorter than what was written to it")
                data += piece
        except OSError as exc:
            raise StorageError(f"cannot read back lkvault's temporary file: {exc}") from None
        return self._crypt(offset, data)

    def ranges(self, ranges: Iterable[tuple[int, int]], block: int = 1 << 20) -> Iterator[bytes]:
        """The bytes of ``ranges`` in turn, joined into blocks of about ``block`` bytes."""
        pending: list[tuple[int, int]] = []
        held = 0
        limit = WINDOW if self._fd is not None else block
        # One buffer for every window (fresh memory costs page faults), allocated zeroed.
        window = bytearray(WINDOW + block if self._fd is not None else 0)
        for offset, length in ranges:
            if offset < 0 or length < 0 or offset + length > self.size:
                raise ValueError(f"range {offset}+{length} is outside the {self.size} bytes")
            for start in range(offset, offset + length, block):
                piece = min(block, offset + length - start)
                pending.append((start, piece))
                held += piece
                if held >= limit:
                    yield from self._joined(pending, held, block, window)
                    pending, held = [], 0
        if pending:
            yield from self._joined(pending, held, block, window)

    def _joined(
        self, pieces: list[tuple[int, int]], total: int, block: int, window: bytearray
    ) -> Iterator[bytes]:
        if self._fd is None:
            # Slices of a view, copied once by the join: a message inbox comes back as
            # thousands of small ranges, one per conversation. The view is let go before the
            # caller runs, so the memory stays free to grow.
            with memoryview(self._memory) as memory:
                joined = b"".join([memory[offset : offset + length] for offset, length in pieces])
            yield joined
            return
        # On disk, each read is a system call and a decryption: the pieces of a window are
        # read in file order, those close together (within GAP) in one read, and put in place.
        raw, plain = bytearray(max(SPAN, block)), bytearray(max(SPAN, block) + BLOCK)
        places = [0] * len(pieces)
        position = 0
        for number, (_, length) in enumerate(pieces):
            places[number] = position
            position += length
        order = sorted(range(len(pieces)), key=lambda number: pieces[number][0])
        with memoryview(window) as target:
            first = 0
            while first < len(order):
                start, length = pieces[order[first]]
                end = start + length
                last = first + 1
                while last < len(order):
                    offset, length = pieces[order[last]]
                    if offset - end > GAP or max(end, offset + length) - start > SPAN:
                        break
                    end = max(end, offset + length)
                    last += 1
                with self._read_into(start, end - start, raw, plain) as span:
                    for number in order[first:last]:
                        offset, length = pieces[number]
                        place = places[number]
                        target[place : place + length] = span[
                            offset - start : offset - start + length
                        ]
                first = last
            for start in range(0, total, block):
                yield bytes(target[start : min(start + block, total)])

    def _read_into(self, offset: int, length: int, raw: bytearray, plain: bytearray) -> memoryview:
        """Bytes [offset, offset + length) of the file, decrypted into ``plain`` (through
        ``raw``): no new memory for each read."""
        assert self._fd is not None and length <= len(raw) and length + BLOCK <= len(plain)
        with memoryview(raw) as into:
            done = 0
            try:
                while done < length:
                    got = os.preadv(self._fd, [into[done:length]], offset + done)
                    if not got:
                        raise OSError("the temporary file is shorter than what was written to it")
                    done += got
            except OSError as exc:
                raise StorageError(f"cannot read back lkvault's temporary file: {exc}") from None
            skip = offset % BLOCK
            counter = (offset // BLOCK).to_bytes(16, "big")
            cipher = Cipher(algorithms.AES(self._key), modes.CTR(counter)).encryptor()
            if skip:
                cipher.update(bytes(skip))  # the key stream from the start of its block
            cipher.update_into(into[:length], plain)
        return memoryview(plain)[:length]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._memory = bytearray()

    def _move_to_disk(self) -> None:
        try:
            with tempfile.TemporaryFile(dir=self._directory, buffering=0) as handle:
                fd = os.dup(handle.fileno())
        except OSError as exc:
            raise StorageError(
                f"cannot create a temporary file ({exc}); set TMPDIR to a folder with free space"
            ) from None
        self._key = self._random_bytes(32)
        try:
            with memoryview(self._memory) as kept:  # in pieces: no second copy of it all
                for start in range(0, len(kept), SPAN):
                    self._pwrite(self._crypt(start, kept[start : start + SPAN]), start, fd)
        except BaseException:
            os.close(fd)
            raise
        # Only now: a thread reading meanwhile (read_at) still found it all in memory.
        self._fd = fd
        self._memory = bytearray()

    def _pwrite(self, data: bytes, offset: int, fd: int | None = None) -> None:
        fd = self._fd if fd is None else fd
        assert fd is not None
        view = memoryview(data)
        try:
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
        except OSError as exc:
            raise StorageError(
                f"cannot write lkvault's temporary file ({exc.strerror or exc}); "
                "set TMPDIR to a folder with more free space"
            ) from None

    def _crypt(self, offset: int, data: bytes | memoryview) -> bytes:
        """AES-CTR at ``offset``: encrypting and decrypting are the same operation."""
        skip = offset % BLOCK
        counter = (offset // BLOCK).to_bytes(16, "big")
        cipher = Cipher(algorithms.AES(self._key), modes.CTR(counter)).encryptor()
        if not skip:
            return cipher.update(data)
        return cipher.update(bytes(skip) + data)[skip:]
