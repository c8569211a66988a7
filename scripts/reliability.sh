#!/bin/sh
# The reliability campaign's long run (docs/reliability.md): every crash point, large fuzzing
# budgets and atheris; updates the figures in docs/reliability.md. Extra arguments go to
# `python -m tests.reliability.campaign` (e.g. --fuzz-seconds 120, --no-doc).
set -eu
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" -m tests.reliability.campaign --long "$@"
