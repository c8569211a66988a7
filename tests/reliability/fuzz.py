"""Coverage-guided fuzzing with atheris (libFuzzer) for a bounded time: the long run's fuzzer.

    python -m tests.reliability.fuzz zip --seconds 600
    python -m tests.reliability.fuzz export --seconds 300

``zip``: raw bytes, starting from the real seed zips (and any saved failures), go through the
whole ``snapshot`` path into a real vault and must keep the property of hostile_zips.py.
``export``: one member of a realistic export is replaced by the fuzzer's bytes and
``load_export`` must keep the property of hostile_exports.py. The library's zip reader and
parsers are instrumented, so libFuzzer steers towards new branches. A failing input is saved in
tests/reliability/corpus/ (then replayed by the tests) and the run stops with exit 1.

``--status FILE`` keeps ``{"inputs": N, ...}`` up to date there while it runs (libFuzzer exits
without running Python's exit handlers, so the count is written as it goes).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
STATUS_EVERY = 25  # inputs between two status writes


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.fuzz")
    parser.add_argument("target", choices=["zip", "export"])
    parser.add_argument("--seconds", type=int, default=300, help="how long to fuzz")
    parser.add_argument("--status", type=Path, help="file to keep the input count in")
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)  # set for the child
    args = parser.parse_args(argv)
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install 'lkvault[fuzz]'", file=sys.stderr)
        return 2
    if args.work is not None:
        return _fuzz(args.target, args.seconds, args.status, args.work)
    # libFuzzer ends the process without unwinding Python, so the fuzzing runs in a child and
    # this process removes its working folder (vaults, corpus) afterwards.
    work = Path(tempfile.mkdtemp(prefix="lkvault-fuzz-", dir=_fast_tmp()))
    try:
        command = [sys.executable, "-m", "tests.reliability.fuzz", *argv, f"--work={work}"]
        return subprocess.run(command, cwd=TESTS.parent, check=False).returncode
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fuzz(target: str, seconds: int, status: Path | None, work: Path) -> int:
    import atheris

    sys.path.insert(0, str(TESTS))  # helpers_cli and zipmakers, as under pytest
    with atheris.instrument_imports(include=["lkvault.vault"]):
        import lkvault.vault.export  # noqa: F401
        import lkvault.vault.ingest.deflate  # noqa: F401
        import lkvault.vault.ingest.zipingest  # noqa: F401
        import lkvault.vault.ingest.zipscan  # noqa: F401
    one_input, seeds = _target(target, work)
    corpus = work / "corpus"
    corpus.mkdir()
    for i, data in enumerate(seeds):
        (corpus / f"seed-{i}").write_bytes(data)
    counter = _Counter(status, target)
    atheris.Setup(
        [
            sys.argv[0],
            f"-max_total_time={seconds}",
            "-max_len=400000",
            "-rss_limit_mb=4096",
            "-timeout=120",
            f"-artifact_prefix={work}/",
            "-print_final_stats=1",
            str(corpus),
        ],
        counter.wrap(one_input),
    )
    atheris.Fuzz()
    return 0


def _fast_tmp() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() else None


def _target(name: str, work: Path) -> tuple[Callable[[bytes], None], list[bytes]]:
    if name == "zip":
        from reliability.hostile_zips import ZipHarness, corpus_inputs, seed_zips

        harness = ZipHarness(work / "vault-harness")
        seeds = [data for _, data in seed_zips()] + [p.read_bytes() for p in corpus_inputs()]

        def one_zip(data: bytes) -> None:
            harness.check(data, "atheris")

        return one_zip, seeds

    from reliability.hostile_exports import check_export, members_from_bytes, seed_exports

    archive_name, members = seed_exports()[0]
    names = sorted(members)
    seeds = [bytes([i]) + members[n] for i, n in enumerate(names)]

    def one_export(data: bytes) -> None:
        check_export(members_from_bytes(data, members), archive_name)

    return one_export, seeds


class _Counter:
    """Counts inputs and keeps the status file current."""

    def __init__(self, status: Path | None, target: str) -> None:
        self.status = status
        self.target = target
        self.inputs = 0
        self.started = time.monotonic()

    def wrap(self, one_input: Callable[[bytes], None]) -> Callable[[bytes], None]:
        def counted(data: bytes) -> None:
            self.inputs += 1
            if self.status is not None and self.inputs % STATUS_EVERY == 1:
                self.write()
            one_input(data)

        return counted

    def write(self) -> None:
        assert self.status is not None
        document = {
            "target": self.target,
            "inputs": self.inputs,
            "seconds": round(time.monotonic() - self.started),
        }
        self.status.write_text(json.dumps(document) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
