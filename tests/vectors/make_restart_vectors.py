"""Writes tests/vectors/restarts.json (docs/FORMAT.md, "Restart points"); run only when the
format of restart points changes. Needs stock zlib (1.2.12 to 1.3.x) as Python's zlib."""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

from lkvault.vault.format import deflater, restarts

LINES = 20_000


def content(lines: int = LINES) -> bytes:
    """The vectors' content: line i is f"{i},{i * 7919 % 10007},message {i % 97} to {i % 13}\\n"."""
    return b"".join(
        f"{i},{i * 7919 % 10007},message {i % 97} to {i % 13}\n".encode() for i in range(lines)
    )


def main() -> None:
    data = content()
    vectors = []
    for level, mem_level, wbits in ((6, 8, -15), (9, 8, -15), (6, 4, -12), (4, 9, -15)):
        comp = deflater.compressobj(level, wbits, mem_level, native=True, track_blocks=True)
        stream = comp.compress(data) + comp.flush()
        stock = zlib.compressobj(level, zlib.DEFLATED, wbits, mem_level)
        assert stream == stock.compress(data) + stock.flush(), "not stock zlib's output"
        points = restarts.choose(deflater.block_ends(comp) or [], len(data), 64 << 10)
        vectors.append(
            {
                "params": [level, mem_level, 0, wbits],
                "restarts": [[p.content, p.bit] for p in points],
                "csize": len(stream),
                "sha256": hashlib.sha256(stream).hexdigest(),
            }
        )
    document = {
        "content": "line i (i = 0 .. 19999) is f'{i},{i * 7919 % 10007},message {i % 97} to "
        "{i % 13}\\n' in ASCII, lines concatenated",
        "content_sha256": hashlib.sha256(data).hexdigest(),
        "vectors": vectors,
    }
    path = Path(__file__).with_name("restarts.json")
    path.write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    main()
