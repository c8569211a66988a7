#!/bin/sh
# Refresh the browse screenshots in docs/screenshots (tracked files): runs the Chromium test
# of tests/test_browse_e2e.py with LKVAULT_SCREENSHOTS_DIR pointing there. The test suite
# itself saves its screenshots in a temporary folder and never touches docs/.
# Needs Chromium (scripts/install-test-tools.sh installs it).
set -eu
cd "$(dirname "$0")/.."
LKVAULT_SCREENSHOTS_DIR="$(pwd)/docs/screenshots" exec "${PYTHON:-python3}" -m pytest -q \
    -p no:cacheprovider tests/test_browse_e2e.py -k test_in_chromium "$@"
