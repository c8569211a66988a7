"""Run one ``lkvault`` command and report how many storage writes it made (crash sweep helper).

``python -m tests.reliability.count_writes ARGS...`` runs ``lkvault ARGS`` exactly as the CLI
does, with every storage backend it opens wrapped in the very wrapper that
LKVAULT_DEBUG_KILL_AT_WRITE uses (vault.backend.faults.KillAtWrite), set never to kill, so it
counts exactly what the kill hook counts (writes, and deletes other than of locks). Then it
prints ``lkvault-writes=N`` as the last line of stderr and exits with the command's exit code.
The crash sweep uses the count to choose its kill points; killing at write N and at N+1 then
proves the count exact.
"""

from __future__ import annotations

import sys

from cli import config
from cli.main import main
from vault.backend import Backend
from vault.backend.faults import KillAtWrite

MARKER = "lkvault-writes="


def run(argv: list[str]) -> int:
    opened: list[KillAtWrite] = []
    real_backend_for = config.backend_for

    def counting_backend_for(location: str) -> Backend:
        backend = KillAtWrite(real_backend_for(location), nth=0)  # 0: never kill
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
        print(f"{MARKER}{sum(b.writes for b in opened)}", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
