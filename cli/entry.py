"""The ``lkvault`` command's entry point: takes over Ctrl-C and SIGTERM before anything else.

Loading the command line takes a few tenths of a second (typer, rich, cryptography); a signal
in that time used to print Python's traceback, or end the process by the signal itself. This
module imports only the standard library, installs the handlers, and then loads the rest: from
the first moment it runs, SIGINT and SIGTERM end lkvault with one line and exit 130 or 143
(before it, from the console script's first import, ``start`` does the same).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from types import FrameType
from typing import NoReturn

MESSAGES = {
    signal.SIGINT: "interrupted",
    signal.SIGTERM: "terminated (SIGTERM)",
}


received: int | None = None  # the signal that is stopping lkvault, once one arrived
loading = True  # until the command line is loaded: nothing to clean up, nothing written yet


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by SIGINT or SIGTERM; every ``except KeyboardInterrupt``
    (a snapshot cleaning up, watch and browse stopping) handles both signals alike."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def exit_code(error: BaseException) -> int:
    """130 for Ctrl-C, 143 for SIGTERM: 128 plus the signal's number, as shells report it."""
    return 128 + getattr(error, "signum", signal.SIGINT)


def describe(error: BaseException) -> str:
    return MESSAGES.get(getattr(error, "signum", signal.SIGINT), "interrupted")


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # The first signal unwinds (clean-up runs, one line is printed); a second one while that
    # happens ends the process at once: the vault is consistent at any moment by design.
    global received
    received = signum
    if loading:
        # An exception raised while modules load can be swallowed by an import's own bare
        # ``except`` (or by a finaliser), leaving the signal unanswered; nothing is open yet.
        line = f"lkvault: error: {MESSAGES.get(signal.Signals(signum), 'interrupted')}\n"
        os.write(2, line.encode())
        os._exit(128 + signum)
    for number in MESSAGES:
        signal.signal(number, _second_signal)
    raise Interrupted(signum)


def _second_signal(signum: int, frame: FrameType | None) -> None:
    os._exit(128 + signum)


def install() -> None:
    for number in MESSAGES:
        if signal.getsignal(number) is not signal.SIG_IGN:  # e.g. nohup: keep ignoring
            signal.signal(number, _on_signal)


def leave(code: int | str | None) -> NoReturn:
    """End the process with ``code``; after a signal, without waiting for worker threads.

    The interrupted command has unwound by then (its lock released, its partial files
    removed, its line printed); what threads still run (a level-19 squeeze takes seconds, a
    member's re-deflation too) computes what nobody will use, and Python would wait for
    them at exit, past the second a signal is promised to take.
    """
    if received is None:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed stream
            stream.flush()
    os._exit(code if isinstance(code, int) else 1)


def main() -> None:
    install()
    try:
        from lkvault.cli.main import main as run_command_line

        global loading
        loading = False
        run_command_line()
    except SystemExit as done:
        leave(done.code)
    except BaseException as error:
        # Only before the command line's own handling exists (it prints its own line). The
        # interruption may arrive wrapped: Python 3.11 turns an exception raised while a class
        # is created (a dataclass field's __set_name__, say) into a RuntimeError.
        if received is None and not isinstance(error, KeyboardInterrupt):
            raise
        stopped = Interrupted(received or signal.SIGINT)
        os.write(2, f"lkvault: error: {describe(stopped)}\n".encode())
        sys.exit(exit_code(stopped))


if __name__ == "__main__":
    main()
