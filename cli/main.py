"""The typer app's entry point: the core commands and the one mapping from errors to exit codes."""

from __future__ import annotations

import base64
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

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

from . import config, entry, render
from .app import (
    EXIT_ACCESS,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    JsonOption,
    VaultOption,
    app,
    native_help,
    open_vault,
    open_vault_while,
    print_warnings,
    warn_rollback,
)
from .values import plain_values

if TYPE_CHECKING:
    from lkvault.vault import Snapshot, Vault


@app.command()
def init(
    vault: VaultOption = None,
    json: JsonOption = False,
    new_password_file: Annotated[
        Path | None,
        typer.Option(help="Read the new passphrase from this file (else $LKVAULT_NEW_PASSWORD)."),
    ] = None,
    exist_ok: Annotated[
        bool,
        typer.Option(help="Succeed if a vault already exists there and the passphrase opens it."),
    ] = False,
) -> None:
    """Create a new vault (asks for a passphrase twice)."""
    from lkvault.vault import Vault

    location = config.vault_location(vault)
    backend = config.backend_for(location)
    if exist_ok and backend.exists("config"):
        opened = Vault.open(backend, config.passphrase(), config.environment())
        created = False
    else:
        opened = Vault.init(backend, config.new_passphrase(new_password_file), config.environment())
        created = True
    vault_id = opened.vault_id.hex()
    if json:
        render.emit_json({"location": location, "vault_id": vault_id, "created": created})
    elif created:
        render.stdout.print(f"Created vault {vault_id[:8]} at {location}", markup=False)
        render.stdout.print(
            "Keep your passphrase safe: without it nobody, including you, can read this vault."
        )
    else:
        render.stdout.print(f"Vault {vault_id[:8]} at {location} already exists", markup=False)


@app.command()
def snapshot(
    file: Annotated[
        Path,
        typer.Argument(help="The export to store, e.g. Basic_LinkedInDataExport_01-15-2026.zip"),
    ],
    vault: VaultOption = None,
    json: JsonOption = False,
    opaque: Annotated[
        bool,
        typer.Option(
            help="Store the file as opaque bytes, without reading it as a zip (e.g. a damaged zip)."
        ),
    ] = False,
    any_file: Annotated[
        bool,
        typer.Option(
            "--any-file",
            help="Store the file even if it is not a LinkedIn export (without it, anything but "
            "an export zip or an early contacts export is refused).",
        ),
    ] = False,
) -> None:
    """Store a LinkedIn export in the vault; prints the new snapshot's id.

    Anything else is refused unless you ask for it with --any-file (or --opaque).
    """
    from lkvault.vault import Vault, stored_message

    if not file.is_file():
        raise UsageError(f"{file} does not exist or is not a file")
    opened, prepared = open_vault_while(
        vault,
        lambda vault_open: Vault.prepare_snapshot(
            file, opaque=opaque, any_file=any_file, keep_probing=lambda: not vault_open()
        ),
    )
    created, new = opened.snapshot_once(
        file,
        progress=render.BarProgress(not json),
        opaque=opaque,
        any_file=any_file,
        prepared=prepared,
    )
    try:
        _report_snapshot(opened, file, created, new, json)
    except KeyboardInterrupt:
        already = "interrupted; nothing was stored (the file is in the vault already)"
        raise Interrupted(stored_message(created) if new else already) from None


def _report_snapshot(opened: Vault, file: Path, created: Snapshot, new: bool, json: bool) -> None:
    print_warnings(opened)
    if not new:  # issue 4: an identical archive is not stored twice
        render.already_stored(file, created, json)
        return
    if json:
        render.emit_json(render.snapshot_json(created) | {"already_stored": False})
        return
    for warning in created.warnings:
        render.warning_line(warning)
    if sys.stdout.isatty():
        stats = created.stats
        render.stderr.print(
            f"Stored {created.source} ({render.human_size(created.size)}): "
            f"{render.human_size(stats.get('new_bytes', 0))} of new content, "
            f"{render.human_size(stats.get('stored_bytes', 0))} written to the vault.",
            markup=False,
        )
    print(created.id.hex())


@app.command("list")
def list_(
    vault: VaultOption = None,
    json: JsonOption = False,
    at: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Show only the snapshot --at DATE picks: the newest export dated on or "
            "before DATE (YYYY-MM-DD).",
        ),
    ] = None,
) -> None:
    """List snapshots: id, time, source name, size, SHA-256 and what the export holds."""
    from .choosing import snapshot_at

    opened = open_vault(vault)
    found = opened.snapshots()
    print_warnings(opened)
    warn_rollback(opened, found)
    found = opened.attributed(found)  # whose export each is, also of lkvault 0.3 and before
    if at is not None:
        found = [snapshot_at(opened, at, found)]
    if json:
        render.emit_json([render.snapshot_json(s) for s in found])
    else:
        render.snapshot_table(found)


@app.command()
def restore(
    snapshot_ref: Annotated[
        str | None,
        typer.Argument(
            metavar="[SNAPSHOT]",
            help="Snapshot id, unique id prefix, or 'latest' (the newest export).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="FILE", help="File to write the archive to ('-': stdout)."
        ),
    ] = None,
    extract: Annotated[
        Path | None,
        typer.Option(
            "--extract", metavar="DIR", help="Write the archive's members into this folder instead."
        ),
    ] = None,
    vault: VaultOption = None,
    json: JsonOption = False,
    force: Annotated[bool, typer.Option(help="Replace files that already exist.")] = False,
    at: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Instead of SNAPSHOT: the newest export dated on or before DATE (YYYY-MM-DD).",
        ),
    ] = None,
) -> None:
    """Write a snapshot's archive back byte for byte (-o FILE), or its members (--extract DIR)."""
    from .choosing import snapshot_at

    if (output is None) == (extract is None):
        raise UsageError("give either -o FILE (the archive) or --extract DIR (its members)")
    if (snapshot_ref is None) == (at is None):
        raise UsageError("give either SNAPSHOT (an id or 'latest') or --at DATE")
    opened = open_vault(vault)
    if at is not None:
        snapshot_ref = snapshot_at(opened, at).id.hex()
    assert snapshot_ref is not None
    try:
        _restore(opened, snapshot_ref, output, extract, json, force)
    finally:
        print_warnings(opened)


def _restore(
    opened: Vault,
    snapshot_ref: str,
    output: Path | None,
    extract: Path | None,
    json: bool,
    force: bool,
) -> None:
    progress = render.BarProgress(not json)
    if extract is not None:
        chosen, result = opened.extract(snapshot_ref, extract, force=force, progress=progress)
        for warning in result.warnings:
            render.warning_line(warning)
        for failure in result.failed:
            render.warning_line(f"not written: {failure}")
        if json:
            render.emit_json(
                {
                    "snapshot": render.snapshot_json(chosen),
                    "folder": str(extract),
                    "written": result.written,
                    "warnings": result.warnings,
                    "failed": result.failed,
                }
            )
        else:
            render.stdout.print(
                f"Extracted {render.plural(len(result.written), 'file')} of {chosen.source} "
                f"(snapshot {chosen.short_id}) into {extract}",
                markup=False,
            )
        if result.failed:
            render.error_line(
                f"{render.plural(len(result.failed), 'member')} could not be written "
                f"(listed above); the other {render.plural(len(result.written), 'file')} "
                f"{'was' if len(result.written) == 1 else 'were'} written"
            )
            raise typer.Exit(EXIT_FAILED)
        return
    assert output is not None
    if str(output) == "-":
        _restore_to_stdout(opened, snapshot_ref, json)
        return
    chosen = opened.restore(snapshot_ref, output, force=force, progress=progress)
    if json:
        render.emit_json({"snapshot": render.snapshot_json(chosen), "output": str(output)})
    else:
        render.stdout.print(
            f"Restored {chosen.source} from snapshot {chosen.short_id} to {output} "
            f"(SHA-256 verified)",
            markup=False,
        )


@app.command("ls")
def ls(
    snapshot_ref: Annotated[
        str,
        typer.Argument(
            metavar="SNAPSHOT",
            help="Snapshot id, unique id prefix, or 'latest' (the newest export).",
        ),
    ] = "latest",
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """List the files inside a stored export: size and name (for 'lkvault cat')."""
    opened = open_vault(vault)
    chosen, members = opened.members(snapshot_ref)
    print_warnings(opened)
    files = [m for m in members if not m.is_dir]
    if json:
        render.emit_json(
            {
                "snapshot": render.snapshot_json(chosen),
                "files": [{"name": m.name, "size": m.size} for m in files],
            }
        )
        return
    if not members:
        render.stdout.print(
            f"Snapshot {chosen.short_id} is a single file, not a zip: {chosen.source} "
            f"({chosen.size:,} bytes)",
            markup=False,
        )
        return
    width = max((len(f"{m.size:,}") for m in files), default=1)
    for m in files:
        print(f"{m.size:>{width},}  {render.shown(m.name)}")  # a name from the export: escaped
    total = sum(m.size for m in files)
    render.stderr.print(
        f"{render.plural(len(files), 'file')}, {total:,} bytes, in snapshot {chosen.short_id} "
        f"({chosen.source})",
        markup=False,
    )


def _restore_to_stdout(opened: Vault, snapshot_ref: str, json: bool) -> None:
    """``restore -o -``: the archive on stdout, checked against its SHA-256 at the end."""
    if json:
        raise UsageError("-o - writes the archive to stdout; it cannot go with --json")
    if sys.stdout.isatty():
        raise UsageError("-o - writes binary data to stdout; redirect it to a file or a pipe")
    chosen = opened.find(snapshot_ref)
    out = sys.stdout.buffer
    try:
        for block in opened.archive(chosen):  # raises IntegrityError after a mismatch
            out.write(block)
        out.flush()
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted; restore stopped, the archive written to stdout is incomplete (throw "
            "it away); the vault is unchanged"
        ) from None
    render.stderr.print(
        f"Restored {chosen.source} from snapshot {chosen.short_id} to stdout (SHA-256 verified)",
        markup=False,
    )


@app.command()
def cat(
    snapshot_ref: Annotated[
        str,
        typer.Argument(
            metavar="SNAPSHOT",
            help="Snapshot id, unique id prefix, or 'latest' (the newest export).",
        ),
    ],
    member: Annotated[
        str, typer.Argument(help="Member name, e.g. Connections.csv (any folder, any case).")
    ],
    vault: VaultOption = None,
    json: JsonOption = False,
) -> None:
    """Print one member of a stored export (such as Connections.csv) to stdout."""
    opened = open_vault(vault)
    if json:
        content = b"".join(opened.cat(snapshot_ref, member))
        try:
            text: str | None = content.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        render.emit_json(
            {
                "member": member,
                "size": len(content),
                "text": text,
                "base64": None if text is not None else base64.b64encode(content).decode(),
            }
        )
    else:
        if sys.stdout.isatty():  # a person reads it: nothing in it may act on the terminal
            shown = render.TerminalText()
            for block in opened.cat(snapshot_ref, member):
                shown.write(block)
            shown.write(b"", final=True)
            sys.stdout.flush()
        else:
            out = sys.stdout.buffer
            for block in opened.cat(snapshot_ref, member):
                out.write(block)
            out.flush()
    print_warnings(opened)


@app.command()
def verify(
    vault: VaultOption = None,
    json: JsonOption = False,
    read_data: Annotated[
        bool, typer.Option(help="Also decrypt every stored chunk and check it against its id.")
    ] = False,
    accept_rollback: Annotated[
        bool,
        typer.Option(
            help="Trust the vault as it is now (after putting back an older copy of it on "
            "purpose): shows the newest snapshot this computer had seen and the one it trusts "
            "from now on, then verifies."
        ),
    ] = False,
    read_data_subset: Annotated[
        str | None,
        typer.Option(
            metavar="P%|n/t",
            help="Read only part of the data: n/t reads part n of t (the t parts together are "
            "all of it); P% reads the next part of 100/P on each run, so runs cover it all.",
        ),
    ] = None,
) -> None:
    """Check that the vault is intact and name every damaged object; exit 1 if not."""
    opened = open_vault(vault)
    if accept_rollback:
        seen, newest = opened.accept_current_head()
        render.accepted_rollback(None if seen is None else (seen.seq, seen.snapshot_id), newest)
    if read_data_subset is not None:
        from .commands_maintenance import verify_subset

        verify_subset(opened, read_data_subset, json)
        return
    report = opened.verify(read_data=read_data, progress=render.BarProgress(not json))
    print_warnings(opened)
    if json:
        render.emit_json(render.verify_json(report))
    else:
        render.verify_text(report)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


# Commands of each further area live in a module of their own (cli/commands_*.py) and
# register themselves on the app when imported here.
# (one import line per module below this comment)
from . import commands_diff  # noqa: E402,F401  # isort: skip
from . import commands_timeline  # noqa: E402,F401  # isort: skip
from . import commands_contacts  # noqa: E402,F401  # isort: skip
from . import commands_status  # noqa: E402,F401  # isort: skip
from . import commands_watch  # noqa: E402,F401  # isort: skip

from . import commands_maintenance  # noqa: E402,F401  # isort: skip
from . import commands_keys  # noqa: E402,F401  # isort: skip

from . import commands_browse  # noqa: E402,F401  # isort: skip
from . import commands_remote  # noqa: E402,F401  # isort: skip


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
