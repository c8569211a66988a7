"""The command line behaves as a user of other command-line tools expects (issue 20, item 10)."""

from __future__ import annotations

import os
import re
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest
from lkvault.cli.main import app
from typer.main import get_command

from tests.helpers_cli import REPO_ROOT, Lk, assert_one_line_error, started
from tests.test_export_parsing import SAMPLE


def _command_paths() -> list[list[str]]:
    paths: list[list[str]] = [[]]
    group = get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        paths.append([name])
        paths += [[name, sub] for sub in getattr(command, "commands", {})]
    return paths


def test_version_and_short_help(cli) -> None:  # noqa: ANN001
    shown = cli("--version")
    assert shown.code == 0 and shown.out.strip() == f"lkvault {version('lkvault')}"
    assert cli("-h").out == cli("--help").out
    assert "--install-completion" in cli("-h").out  # shell completion, for bash, zsh and fish


def test_bare_lkvault_prints_the_overview_and_succeeds(cli) -> None:  # noqa: ANN001
    bare = cli()
    assert bare.code == 0 and bare.err == ""
    assert bare.out.startswith("Usage: lkvault") and "snapshot" in bare.out


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "lkvault")
def test_help_has_no_type_placeholders_and_fits_80_columns(
    cli, monkeypatch: pytest.MonkeyPatch, path: list[str]
) -> None:  # noqa: ANN001
    monkeypatch.setenv("COLUMNS", "200")
    shown = cli(*path, "-h")
    assert shown.code == 0, shown.err
    for placeholder in ("<bool>", "<str>", "<int>", "<path>", "<list[", "{", "[default: no-"):
        assert placeholder not in shown.out, (path, placeholder, shown.out)
    assert max(len(line) for line in shown.out.splitlines()) <= 80, shown.out


def test_an_error_in_a_subcommand_points_to_its_help(cli) -> None:  # noqa: ANN001
    wrong = cli("key", "add", "--bogus")
    assert wrong.code == 2
    assert "see 'lkvault key add --help'" in assert_one_line_error(wrong.err)
    unknown = cli("bogus")
    assert unknown.code == 2
    assert assert_one_line_error(unknown.err).endswith(
        "No such command 'bogus' (see 'lkvault --help')"
    )


def test_ls_lists_the_files_and_cat_suggests_close_names(cli) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    assert cli("snapshot", str(SAMPLE)).code == 0
    listed = cli("ls", "latest")
    assert listed.code == 0, listed.err
    line = next(row for row in listed.out.splitlines() if row.endswith("Connections.csv"))
    assert re.fullmatch(r"\s*\d{1,3}(,\d{3})+  Connections\.csv", line)  # thousands separated
    names = [f["name"] for f in cli("ls", "--json").json()["files"]]
    assert "Connections.csv" in names and "messages.csv" in names
    typo = cli("cat", "latest", "conections.csv")
    assert typo.code == 2
    assert "did you mean 'Connections.csv'" in assert_one_line_error(typo.err)


def test_restore_to_stdout(tmp_path: Path) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    lk.snapshot(SAMPLE)
    done = subprocess.run(
        lk.argv("restore", "latest", "-o", "-"),
        cwd=REPO_ROOT,
        env=lk.env(),
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == SAMPLE.read_bytes()


def test_an_ambiguous_prefix_lists_the_matches(cli, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    by_digit: dict[str, list[str]] = {}
    for number in range(17):  # 17 ids: two of them share a first hex digit
        path = tmp_path / f"f{number}.bin"
        path.write_bytes(os.urandom(64))
        snap = cli("snapshot", "--any-file", str(path)).out.strip()
        by_digit.setdefault(snap[0], []).append(snap)
        if len(by_digit[snap[0]]) == 2:
            break
    digit, shared = next((d, ids) for d, ids in by_digit.items() if len(ids) == 2)
    result = cli("restore", digit, "-o", str(tmp_path / "out"))
    message = assert_one_line_error(result.err)
    assert result.code == 2 and "matches 2 snapshots" in message
    assert all(snap[:5] in message for snap in shared)


def test_a_missing_vault_given_with_vault_suggests_init_there(cli, tmp_path: Path) -> None:  # noqa: ANN001
    nowhere = tmp_path / "no vault here"
    result = cli("list", "--vault", str(nowhere))
    assert result.code == 2
    assert f"lkvault init --vault '{nowhere}'" in assert_one_line_error(result.err)


def test_damage_says_run_verify_then_repair(cli, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    assert cli("snapshot", str(SAMPLE)).code == 0
    packs = sorted((tmp_path / "vault" / "data").rglob("*"), key=lambda p: p.stat().st_size)
    pack = [p for p in packs if p.is_file()][-1]
    data = bytearray(pack.read_bytes())
    for at in range(100, len(data) - 100, 997):
        data[at] ^= 0xFF
    pack.write_bytes(bytes(data))
    broken = cli("restore", "latest", "-o", str(tmp_path / "out.zip"))
    assert broken.code == 1
    message = assert_one_line_error(broken.err)
    assert "lkvault verify" in message and "lkvault repair" in message
    verified = cli("verify", "--read-data")  # and verify, having found it, says what next
    assert verified.code == 1
    lines = verified.out.splitlines()
    assert re.fullmatch(r"\d+ problems? found \(structure and all data\):", lines[0]), lines
    assert lines[-1] == (
        "To keep every snapshot that is still whole and remove only what is broken: "
        "'lkvault repair --dry-run' says what it would do, 'lkvault repair' does it."
    )


def test_key_list_has_headers_and_the_first_slot_has_a_date(cli) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    lines = cli("key", "list").out.splitlines()
    assert lines[0].split() == ["Slot", "Added", "Label"]
    assert re.match(r"\* [0-9a-f]{8}  \d{4}-\d{2}-\d{2}T", lines[1]), lines


def test_a_short_new_passphrase_is_warned_about(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LKVAULT_NEW_PASSWORD", "hunter2")
    made = cli("init")
    assert made.code == 0
    assert "fewer than 12 characters" in made.err


def test_a_writer_waiting_for_the_lock_says_so(tmp_path: Path) -> None:
    from lock_holders import hold_lock, release

    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    holder = hold_lock(lk, exclusive=True)
    try:
        code, _out, err = lk.run("list", extra={"LKVAULT_LOCK_WAIT": "1"})
    finally:
        release(holder)
    assert code == 1
    assert "waiting up to 1 s for the vault's lock" in err and "busy" in err


def test_watch_once_names_the_files_it_waits_for(cli, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("init").code == 0
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    (downloads / SAMPLE.name).write_bytes(SAMPLE.read_bytes())  # just written
    looked = cli("watch", str(downloads), "--once", "--settle", "3600")
    assert looked.code == 0, looked.err
    assert f"{SAMPLE.name}: still being written" in looked.err


def test_watch_once_names_an_export_the_browser_is_still_downloading(cli, tmp_path: Path) -> None:  # noqa: ANN001
    """Chrome writes only 'X.zip.crdownload' until the download ends: a single look says
    that export is on its way, and a look at a folder with nothing in it says so too."""
    assert cli("init").code == 0
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    looked = cli("watch", str(downloads), "--once")
    assert (looked.code, looked.err) == (
        0,
        f"No LinkedIn export in {downloads}; nothing to store\n",
    )
    partial = downloads / (SAMPLE.name + ".crdownload")
    partial.write_bytes(SAMPLE.read_bytes()[:1000])
    (downloads / "holiday.jpg.crdownload").write_bytes(b"not an export")
    looked = cli("watch", str(downloads), "--once")
    assert looked.code == 0, looked.err
    assert looked.err.splitlines() == [
        f"{partial.name}: an export still downloading; stored once the browser finishes it"
    ]
    events = cli("watch", str(downloads), "--once", "--json").json()["events"]
    assert [(e["file"], e["event"]) for e in events] == [(str(partial), "waiting")]


def _at_a_terminal(lk: Lk, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """``lkvault ARGS`` with a pseudo-terminal as its controlling terminal, as a person runs
    it; returns the process and the terminal's master side."""
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()

    def own_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = lk.env()
    del env["LKVAULT_PASSWORD"]
    process = subprocess.Popen(
        lk.argv(*args),
        cwd=REPO_ROOT,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=own_terminal,  # noqa: PLW1509 - the child needs its own terminal
    )
    os.close(slave)
    started(process)  # type: ignore[arg-type]
    return process, master


def _read_until(master: int, wanted: bytes) -> bytes:
    import select

    seen = b""
    while wanted not in seen:
        ready, _, _ = select.select([master], [], [], 120)  # a guard only
        assert ready, f"no {wanted!r} on the terminal; it showed {seen!r}"
        try:
            seen += os.read(master, 4096)
        except OSError:  # the terminal closed: the process ended
            break
    return seen


def test_three_passphrase_attempts_at_a_terminal(tmp_path: Path) -> None:
    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    process, master = _at_a_terminal(lk, "list")
    try:
        shown = b""
        for attempt in (b"wrong one\n", b"wrong two\n", b"wrong three\n"):
            shown += _read_until(master, b"Vault passphrase: ")
            os.write(master, attempt)
        shown += _read_until(master, b"lkvault: error:")
        shown += _read_until(master, b"\n")
        assert process.wait(timeout=120) == 3
    finally:
        os.close(master)
    text = shown.decode()
    assert text.count("Vault passphrase: ") == 3
    assert "Wrong passphrase; try again (1 of 3 attempts used)." in text
    assert "Wrong passphrase; try again (2 of 3 attempts used)." in text


def test_long_lists_count_what_they_leave_out_with_thousands_separators(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A diff of a large export leaves most rows out: '… and 12,325 more', as every count."""
    from lkvault.cli.commands_diff import _more

    _more(20, 12_345)
    assert capsys.readouterr().out.strip() == (
        "… and 12,325 more (--limit 0 lists all, --json gives everything)"
    )


def test_contacts_help_and_the_readme_agree_on_outlook(cli) -> None:  # noqa: ANN001
    """Outlook imports only the first card of a vCard file: both say to use the CSV."""
    shown = " ".join(cli("contacts", "--help").out.split())
    assert "also for Outlook, which imports only the first card of a vCard file" in shown
    readme = " ".join((REPO_ROOT / "README.md").read_text(encoding="utf-8").split())
    bullet = readme[readme.index("**`contacts`**") :][:300]
    assert "Outlook imports only the first card, so use the CSV there" in bullet


@pytest.mark.parametrize(
    "args",
    [
        ("contacts", "latest", "-f", "csv"),
        ("contacts", "latest"),
        ("cat", "latest", "Connections.csv"),
    ],
)
def test_names_from_an_export_never_act_on_the_terminal(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """Someone's name can hold escape sequences (clear the screen, write the clipboard):
    printed at a terminal they are shown escaped; into a pipe the bytes stay as they are."""
    from datetime import date

    from bench.exportgen import generate_export

    lk = Lk(tmp_path / "vault", tmp_path / "state")
    lk.init()
    export = generate_export(
        tmp_path / "Basic_LinkedInDataExport_01-15-2026.zip",
        date=date(2026, 1, 15),
        scale=0.05,
        quirks=["hostile"],
    )
    code, _out, err = lk.run("snapshot", str(export))
    assert code == 0, err
    piped = subprocess.run(lk.argv(*args), cwd=REPO_ROOT, env=lk.env(), capture_output=True)
    assert b"\x1b[2J" in piped.stdout  # as the export has it: the data itself
    process, master = _at_a_terminal(lk, *args)
    try:
        shown = _read_until(master, b"Vault passphrase: ")
        os.write(master, lk.password.encode() + b"\n")
        shown += _read_until(master, b"\x00 never shown")  # everything, until it ends
        assert process.wait(timeout=120) == 0
    finally:
        os.close(master)
    assert b"Eve" in shown and b"\x1b" not in shown
    assert b"\\x1b[2J" in shown  # visible, as an escape
