"""Hostile input: the CSV parsers of vault.export fuzzed with damaged realistic exports.

Property (hostile_exports.check_export): ``load_export(members, archive_name)`` never raises,
returns an ``Export``, and files it cannot parse become one-line warnings. Inputs that once
failed are kept in tests/reliability/corpus/csv/ and replayed. A bounded number of examples in
CI, many more in the long run (and atheris: tests/reliability/fuzz.py export).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .budget import LONG, corpus_cases, pick, record
from .hostile_exports import (
    CSV_CORPUS,
    check_export,
    corpus_inputs,
    export_modules_missing,
    load_failure,
    mutate_export,
    seed_exports,
)

pytestmark = pytest.mark.skipif(
    export_modules_missing() is not None, reason=export_modules_missing() or ""
)

FUZZED = {"inputs": 0}


@pytest.fixture(scope="module", autouse=True)
def report_figures() -> object:
    yield None
    record("fuzz-csv", inputs=FUZZED["inputs"])


def test_the_seed_exports_parse_without_warnings() -> None:
    for archive_name, members in seed_exports():
        export = check_export(members, archive_name)
        FUZZED["inputs"] += 1
        assert export.connections, f"{archive_name}: no connections parsed"  # type: ignore[attr-defined]
        assert export.recognised, archive_name  # type: ignore[attr-defined]
        assert not export.warnings, export.warnings  # type: ignore[attr-defined]


@settings(
    max_examples=pick(150, 5000),
    deadline=None,
    derandomize=not LONG,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    era=st.integers(0, 1),
    rng_seed=st.integers(0, 2**32 - 1),
    damages=st.integers(1, 6),
    named=st.booleans(),
)
def test_damaged_exports_never_raise(era: int, rng_seed: int, damages: int, named: bool) -> None:
    archive_name, members = seed_exports()[era]
    mutated = mutate_export(members, random.Random(rng_seed), damages)
    FUZZED["inputs"] += 1
    check_export(mutated, archive_name if named else None)


@pytest.mark.parametrize("path", corpus_cases(corpus_inputs(), CSV_CORPUS))
def test_corpus_of_past_failures(path: Path) -> None:
    members, archive_name = load_failure(path)
    check_export(members, archive_name)
