"""Types of the optional C accelerator built from _cdc.c (the cut search of chunker.py)."""

from typing_extensions import Buffer

def implementations() -> tuple[str, ...]: ...
def cuts(
    key: Buffer,
    data: Buffer,
    start: int,
    scanned: int,
    min: int,
    avg: int,
    max: int,
    final: bool,
    impl: str,
    /,
) -> tuple[list[int], int]: ...
