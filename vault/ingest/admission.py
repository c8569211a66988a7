"""Whether a file given to 'lkvault snapshot' is a LinkedIn export, read from the file itself.

The rule is ``export.layout.export_refusal``; this module only reads what it needs (the
first bytes and the zip's member names) and turns a refusal into a one-line BadInput.
"""

from __future__ import annotations

import os
from pathlib import Path

from lkvault.vault.errors import BadInput
from lkvault.vault.export.layout import export_refusal
from lkvault.vault.ingest.zipscan import Member, scan_zip

HEAD_BYTES = 4096


def refuse_unless_export(path: Path, source_name: str | None = None) -> None:
    """Raise BadInput unless ``path`` is a LinkedIn export (see ``export_refusal``).

    A zip too damaged to read is let through: storing it fails with its own message, which
    says how to keep it anyway.
    """
    name = source_name or path.name
    with open(path, "rb") as source:
        size = os.fstat(source.fileno()).st_size

        def read_at(offset: int, length: int) -> bytes:
            return os.pread(source.fileno(), length, offset)

        head = read_at(0, HEAD_BYTES)
        try:
            layout = scan_zip(read_at, size)
        except BadInput:
            return
    names = None if layout is None else [m.name for m in layout.items if isinstance(m, Member)]
    reason = export_refusal(name, names, head)
    if reason is not None:
        raise BadInput(
            f"{name} is not a LinkedIn export: {reason}; nothing was stored (to keep it "
            "anyway, exactly as it is: lkvault snapshot --any-file FILE)"
        )
