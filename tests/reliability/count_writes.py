"""Run one ``lkvault`` command and report how many storage writes it made (crash sweep helper).

``python -m tests.reliability.count_writes ARGS...`` runs ``lkvault ARGS`` exactly as the CLI
does, with every storage backend it opens wrapped in the very wrapper the crash tests kill with
(tests/faults.py, KillAtWrite), set never to kill, so it counts exactly what a kill counts
(writes, and deletes other than of locks). Then it prints ``lkvault-writes=KINDS`` as the last
line of stderr, one letter per counted operation in order (``w`` a write, ``d`` a delete), and
exits with the command's exit code.
The crash sweep uses the count to choose its kill points; killing at write N and at N+1 then
proves the count exact.
"""

from __future__ import annotations

import sys

from lkvault.vault.backend import Backend

from tests.faults import KillAtWrite, run_cli_wrapping_backends

MARKER = "lkvault-writes="


class RecordingKillAtWrite(KillAtWrite):
    """KillAtWrite set never to kill, noting what each operation it counts was."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner, nth=0)  # 0: never kill
        self.kinds: list[str] = []

    def write(self, name: str, data: bytes | bytearray) -> None:
        before = self.writes
        super().write(name, data)
        self.kinds.extend("w" * (self.writes - before))

    def delete(self, name: str) -> None:
        before = self.writes
        super().delete(name)
        self.kinds.extend("d" * (self.writes - before))


def run(argv: list[str]) -> int:
    opened: list[RecordingKillAtWrite] = []

    def counting(backend: Backend) -> Backend:
        opened.append(RecordingKillAtWrite(backend))
        return opened[-1]

    try:
        return run_cli_wrapping_backends(argv, counting)
    finally:
        kinds = "".join("".join(b.kinds) for b in opened)
        print(f"{MARKER}{kinds}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
