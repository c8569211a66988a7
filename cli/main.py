"""The typer app's entry point: every command registered, and the one mapping from errors
(and signals) to a line and an exit code."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import typer
from lkvault.vault import (
    AccessDenied,
    IntegrityError,
    Interrupted,
    RollbackDetected,
    StorageError,
    UnsupportedFormat,
    UsageError,
    VaultError,
)

from . import entry, render
from .app import EXIT_ACCESS, EXIT_FAILED, EXIT_OK, EXIT_USAGE, app, native_help
from .values import plain_values

# Every command lives in a module of its own (cli/commands_*.py) and registers itself on the
# app when imported; they are imported in the order --help lists them.
# isort: off
from . import commands_snapshot  # noqa: F401
from . import commands_restore  # noqa: F401
from . import commands_verify  # noqa: F401
from . import commands_diff  # noqa: F401
from . import commands_timeline  # noqa: F401
from . import commands_contacts  # noqa: F401
from . import commands_status  # noqa: F401
from . import commands_watch  # noqa: F401
from . import commands_maintenance  # noqa: F401
from . import commands_stats  # noqa: F401
from . import commands_repair  # noqa: F401
from . import commands_keys  # noqa: F401
from . import commands_browse  # noqa: F401
from . import commands_remote  # noqa: F401
# isort: on


def exit_code_for(error: BaseException) -> int:
    """The one mapping from errors to exit codes."""
    if isinstance(error, AccessDenied):
        return EXIT_ACCESS
    if isinstance(error, UsageError) or _is_usage_error(error):
        return EXIT_USAGE
    if isinstance(error, IntegrityError | StorageError | VaultError):
        return EXIT_FAILED
    return EXIT_FAILED


def _is_usage_error(error: BaseException) -> bool:
    # Typer's parser errors (click's, vendored or not) carry an exit code of 2.
    return getattr(error, "exit_code", None) == EXIT_USAGE and hasattr(error, "format_message")


def _with_next_step(error: VaultError, message: str) -> str:
    """Damage in the vault: say what to do about it, unless the message already does."""
    damaged = isinstance(error, IntegrityError) and not isinstance(
        error, RollbackDetected | UnsupportedFormat
    )
    if damaged and "lkvault verify" not in message and "lkvault repair" not in message:
        return (
            f"{message}; run 'lkvault verify' to see what is damaged, then 'lkvault repair' "
            "to keep every snapshot still whole"
        )
    return message


def _usage_message(error: BaseException) -> str:
    """A parser error, pointing to the help of the command it is about."""
    context = getattr(error, "ctx", None)
    where = context.command_path if context is not None else "lkvault"
    said = error.format_message().rstrip(".")  # type: ignore[attr-defined]
    return f"{said} (see '{where} --help')"  # 'No such command 'x'.' would end mid-sentence


def _fail(error: BaseException, message: str, json_mode: bool) -> NoReturn:
    _exit_if_interrupted()  # a signal's KeyboardInterrupt may arrive wrapped in another error
    code = exit_code_for(error)
    render.error_line(message)
    if json_mode:
        render.emit_json({"error": " ".join(message.split()), "exit_code": code})
    sys.exit(code)


class _Stopped(Exception):  # noqa: N818 - carries an interrupt, is not an error
    """A KeyboardInterrupt carried past typer, which turns one into a silent exit 130."""

    def __init__(self, interrupt: KeyboardInterrupt) -> None:
        super().__init__()
        self.interrupt = interrupt


def _passing_interrupts(invoke: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def invoke_passing_interrupts(context: Any) -> Any:
        try:
            return invoke(context)
        except KeyboardInterrupt as interrupt:
            raise _Stopped(interrupt) from None

    return invoke_passing_interrupts


def _interrupted(stop: BaseException) -> NoReturn:
    """One line saying what the interrupted command stored, and 128 + the signal."""
    if isinstance(stop, Interrupted):
        render.error_line(stop.message)
    else:
        render.error_line(_stopped_line(stop))
    sys.exit(128 + (entry.received or signal.SIGINT))


def _stopped_line(stop: BaseException) -> str:
    """The line of a command stopped where it says nothing of its own (opening the vault,
    reading): any command may be stopped at any moment and leave nothing half-done."""
    return f"{entry.describe(stop)}; nothing half-done is left in the vault"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``lkvault`` command."""
    entry.install()  # again when the console script did: also for runs that bypass it
    entry.loading = False  # loaded: from here a signal unwinds, and commands clean up
    args = sys.argv[1:] if argv is None else argv
    json_mode = "--json" in args
    if not args:  # bare 'lkvault': the overview, as 'lkvault --help' prints it
        args = ["--help"]
    try:
        # Inside the handlers: building the command line takes a tenth of a second, and a
        # signal in it must end with one line too.
        command = plain_values(native_help(typer.main.get_command(app)))
        command.invoke = _passing_interrupts(command.invoke)  # type: ignore[method-assign,assignment]
        result = command.main(args=args, prog_name="lkvault", standalone_mode=False)
    except typer.Exit as done:
        if done.exit_code == 130:
            _exit_if_interrupted()
        sys.exit(done.exit_code)
    except BrokenPipeError:
        # The reader went away (e.g. `lkvault cat ... | head`): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_OK)
    except _Stopped as stopped:
        _interrupted(stopped.interrupt)
    except (typer.Abort, KeyboardInterrupt) as stop:
        _interrupted(stop)
    except VaultError as exc:
        _fail(exc, _with_next_step(exc, str(exc) or exc.__class__.__name__), json_mode)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        _fail(exc, f"{exc.strerror or exc}{where}", json_mode)
    except Exception as exc:  # noqa: BLE001 - never show a traceback to a user
        if _is_usage_error(exc):
            _fail(exc, _usage_message(exc), json_mode)
        if os.environ.get("LKVAULT_DEBUG"):
            raise
        _fail(exc, f"internal error ({exc.__class__.__name__}: {exc}); please report it", json_mode)
    if result == 130:  # typer's silent Exit(130) for a KeyboardInterrupt inside the command
        _exit_if_interrupted()
    sys.exit(result if isinstance(result, int) else EXIT_OK)


def _exit_if_interrupted() -> None:
    """Typer turns a KeyboardInterrupt inside a command into a silent exit 130; when a signal
    (entry.py) caused it, say so in one line and exit with that signal's code (143: SIGTERM).
    The commands that run until stopped (browse, watch) say so in a line of their own."""
    if entry.received is not None:
        stopped = entry.Interrupted(entry.received)
        render.error_line(_stopped_line(stopped))
        sys.exit(entry.exit_code(stopped))


if __name__ == "__main__":
    entry.install()  # as the console script does (after the imports here, though)
    try:
        main()
    except SystemExit as done:
        entry.leave(done.code)
