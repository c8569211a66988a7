"""Run one ``lkvault`` command and report how many storage writes it made (crash sweep helper).

``python -m tests.reliability.count_writes ARGS...`` runs ``lkvault ARGS`` exactly as the CLI
does, with every storage backend it opens wrapped in the very wrapper that
LKVAULT_DEBUG_KILL_AT_WRITE uses (vault.backend.faults.KillAtWrite), set never to kill, so it
counts exactly what the kill hook counts (writes, and deletes other than of locks). Then it
prints ``lkvault-writes=KINDS`` as the last line of stderr, one letter per counted operation in
order (``w`` a write, ``d`` a delete), and exits with the command's exit code.
The crash sweep uses the count to choose its kill points; killing at write N and at N+1 then
proves the count exact.
"""

from __future__ import annotations

import sys

from lkvault.cli import config
from lkvault.cli.main import main
from lkvault.vault.backend import Backend
from lkvault.vault.backend.faults import KillAtWrite

MARKER = "lkvault-writes="


class RecordingKillAtWrite(KillAtWrite):
    """KillAtWrite set never to kill, noting what each operation it counts was."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner, nth=0)  # 0: never kill
        self.kinds: list[str] = []

    def write(self, name: str, data: bytes) -> None:
        before = self.writes
        super().write(name, data)
        self.kinds.extend("w" * (self.writes - before))

    def delete(self, name: str) -> None:
        before = self.writes
        super().delete(name)
        self.kinds.extend("d" * (self.writes - before))


def run(argv: list[str]) -> int:
    opened: list[RecordingKillAtWrite] = []
    real_backend_for = config.backend_for

    def counting_backend_for(location: str) -> Backend:
        backend = RecordingKillAtWrite(real_backend_for(location))
        opened.append(backend)
        return backend  # type: ignore[return-value]  # it forwards the whole Backend protocol

    config.backend_for = counting_backend_for
    code = 0
    try:
        main(argv)
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    finally:
        config.backend_for = real_backend_for
        kinds = "".join("".join(b.kinds) for b in opened)
        print(f"{MARKER}{kinds}", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
