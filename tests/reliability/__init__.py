"""The reliability campaign of issue 7: crash, corruption, hostile-input and hostile-vault sweeps.

``python -m pytest -q tests/reliability`` runs the fast part (a spread sample, in CI);
``python -m tests.reliability.campaign --long`` runs every crash point, larger fuzzing budgets
and the atheris fuzzers, and writes the figures into docs/reliability.md.
"""
