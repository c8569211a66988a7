"""Hostile input: the zip reader fuzzed end to end, and the classic hostile zips.

Every input goes through the real library path of ``lkvault snapshot`` into a real vault (see
hostile_zips.py for the seeds, the mutations and the property: a one-line BadInput that leaves
the vault's snapshots unchanged, or a snapshot that restores byte for byte and extracts only
inside its folder). The hand-made hostile zips also go through the command line, which must
answer exit 0 or a one-line error with exit 2, never an internal error. Inputs that once
failed are kept in tests/reliability/corpus/zip/ and replayed here.

Budget: a bounded number of hypothesis examples in CI; many more in the long run (and atheris,
coverage-guided, for a bounded time: tests/reliability/fuzz.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from .budget import LONG, corpus_cases, pick, record
from .checks import all_paths, remove_tree
from .hostile_zips import (
    KEPT,
    ZIP_CORPUS,
    Mutation,
    ZipHarness,
    corpus_inputs,
    extraction_clash_cases,
    hostile_cases,
    mutate,
    seed_zips,
)

HOSTILE = hostile_cases()


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZipHarness]:
    made = ZipHarness(tmp_path_factory.mktemp("zip-fuzz"))
    yield made
    record("fuzz-zip", inputs=made.inputs, stored=made.stored, refused=made.refused)
    made.verify()


def test_the_seeds_are_real_zips_of_several_producers() -> None:
    producers = [name for name, _ in seed_zips()]
    assert {"python", "python-zip64", "exportgen", "crafted-zip64"} <= set(producers), producers
    for name, data in seed_zips():
        assert data[:4] == b"PK\x03\x04" or name == "python-sfx", name


def test_every_seed_is_stored_and_restored_exactly(harness: ZipHarness) -> None:
    for name, data in seed_zips():
        assert harness.check(data, f"seed {name}") == "stored", name


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_zip(harness: ZipHarness, case: str) -> None:
    outcome = harness.check(HOSTILE[case](), case)
    if case.startswith("bomb:") and "inside" not in case:
        assert outcome == "refused", f"{case}: the bomb was stored"


def test_hostile_zips_through_the_command_line(cli: Callable, tmp_path: Path) -> None:
    assert cli("init").code == 0
    for case, build in sorted(HOSTILE.items()):
        path = tmp_path / "Basic_LinkedInDataExport_01-15-2026.zip"
        data = build()
        path.write_bytes(data)
        result = cli("snapshot", "--json", str(path))
        assert "Traceback" not in result.err and "internal error" not in result.err, case
        if result.code == 0:
            restored = tmp_path / "restored.zip"
            done = cli("restore", result.json()["id"], "-o", str(restored), "--force")
            assert done.code == 0 and restored.read_bytes() == data, case
        else:
            lines = [line for line in result.err.splitlines() if line.strip()]
            assert result.code == 2, f"{case}: exit {result.code}: {result.err}"
            assert len(lines) == 1 and lines[0].startswith("lkvault: error: "), (case, lines)


@pytest.mark.parametrize("case", sorted(extraction_clash_cases()))
def test_extraction_skips_what_cannot_be_written_and_writes_the_rest(
    cli: Callable, tmp_path: Path, case: str
) -> None:
    build, cannot = extraction_clash_cases()[case]
    assert cli("init").code == 0
    path = tmp_path / "Basic_LinkedInDataExport_01-15-2026.zip"
    path.write_bytes(build())
    assert cli("snapshot", str(path)).code == 0
    folder = tmp_path / "out"
    done = cli("restore", "latest", "--extract", str(folder))
    assert "Traceback" not in done.err and "internal error" not in done.err, done.err
    assert (folder / "Connections.csv").read_bytes() == KEPT, "the other members must be written"
    skipped = [line for line in done.err.splitlines() if "not written:" in line]
    assert len(skipped) == cannot, done.err
    if cannot:
        assert done.code == 1, done.err
        assert done.err.splitlines()[-1].startswith("lkvault: error: "), done.err
        assert f"{cannot} member" in done.err.splitlines()[-1]
        written = sum(1 for p in all_paths(folder) if p.is_file())
        were = f"{written} file was written" if written == 1 else f"{written} files were written"
        assert done.err.splitlines()[-1].endswith(f"the other {were}"), done.err
    else:
        assert done.code == 0, done.err
    assert not any(p.is_symlink() for p in all_paths(folder)), "a zip entry became a link"
    assert not Path("/etc/x").exists()
    remove_tree(tmp_path)  # pytest's own clean-up recurses once per folder level
    record("extraction-clashes", cases=1, skipped=cannot)


MUTATION = st.builds(
    Mutation,
    kind=st.sampled_from(["flip", "field", "field", "truncate", "insert", "duplicate", "rename"]),
    where=st.integers(0, 1 << 24),
    value=st.integers(0, 1 << 16),
    width=st.sampled_from([1, 2, 4, 8]),
    blob=st.binary(max_size=64),
)


@settings(
    max_examples=pick(200, 5000),
    deadline=None,
    derandomize=not LONG,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, len(seed_zips()) - 1),
    mutations=st.lists(MUTATION, min_size=1, max_size=4),
)
def test_mutated_real_zips(harness: ZipHarness, seed: int, mutations: list[Mutation]) -> None:
    seeds = seed_zips()
    name, original = seeds[seed]
    data = mutate(original, mutations)
    outcome = harness.check(data, f"seed {name} mutated by {mutations}")
    event(f"{name}: {outcome}")


@pytest.mark.parametrize("path", corpus_cases(corpus_inputs(), ZIP_CORPUS))
def test_corpus_of_past_failures(harness: ZipHarness, path: Path) -> None:
    harness.check(path.read_bytes(), f"corpus {path.name}")
