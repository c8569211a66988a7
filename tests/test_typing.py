"""The package type-checks: mypy (strict, configured in pyproject.toml) reports no error.

mypy cannot follow setuptools' editable finder, which maps ``lkvault.vault`` to the repository's
``vault/`` and ``lkvault.cli`` to ``cli/``; the test builds that mapping as a small tree of
symbolic links and checks the two packages through it, with the repository's configuration.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def package_tree(root: Path) -> Path:
    """The installed layout, lkvault/{vault,cli}, as links to the checkout's folders."""
    package = root / "lkvault"
    package.mkdir(parents=True)
    (package / "vault").symlink_to(REPO_ROOT / "vault", target_is_directory=True)
    (package / "cli").symlink_to(REPO_ROOT / "cli", target_is_directory=True)
    return root


def test_mypy_finds_no_error(tmp_path: Path) -> None:
    tree = package_tree(tmp_path / "tree")
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(REPO_ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            "-p",
            "lkvault.vault",
            "-p",
            "lkvault.cli",
        ],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Success: no issues found" in checked.stdout
