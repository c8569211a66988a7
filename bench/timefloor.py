"""The time floor of an export: inflate every deflated member and deflate it again with zlib.

What proving a byte-exact zip costs at least, before any storage work: each member's content is
inflated and compressed again at level 6 with the running Python's zlib (stock zlib on the bench
machine), sequentially in this one process. ``python bench/timefloor.py EXPORT.zip`` prints one
JSON line: members, bytes inflated, and the CPU seconds of the work itself.
"""

from __future__ import annotations

import json
import sys
import time
import zipfile
import zlib

SLICE = 1 << 20


def refold(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """Inflates one member and deflates it again; returns the content's size."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
    size = 0
    with zf.open(info) as member:
        while block := member.read(SLICE):
            size += len(block)
            compressor.compress(block)
    compressor.flush()
    return size


def main(path: str) -> None:
    started = time.process_time()
    members = content = 0
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.compress_type == zipfile.ZIP_DEFLATED and not info.is_dir():
                members += 1
                content += refold(zf, info)
    cpu = time.process_time() - started
    print(json.dumps({"members": members, "content_bytes": content, "cpu_s": round(cpu, 3)}))


if __name__ == "__main__":
    main(sys.argv[1])
