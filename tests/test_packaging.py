"""What `pip install .` puts in site-packages: one import package, lkvault, and nothing else.

Another distribution that ships top-level `cli` or `vault` packages (PyPI has a `vault`) used
to replace lkvault's own modules silently. Here the real wheel is built and installed into a
folder beside such a distribution, and both must keep working.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from tests.helpers_cli import REPO_ROOT


def build_wheel(out: Path) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO_ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = out.glob("lkvault-*.whl")
    return wheel


def write_other_distribution(target: Path) -> None:
    """A distribution of someone else's with top-level `cli` and `vault` packages."""
    (target / "cli").mkdir()
    (target / "cli" / "__init__.py").write_text("")
    (target / "cli" / "main.py").write_text("def main():\n    print('the other tool')\n")
    (target / "vault").mkdir()
    (target / "vault" / "__init__.py").write_text("NAME = 'the other vault'\n")


def test_the_wheel_installs_one_package_beside_top_level_cli_and_vault(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "wheels")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"lkvault"}, tops

    target = tmp_path / "site"
    target.mkdir()
    write_other_distribution(target)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), wheel],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    # -S: no .pth files, so the checkout's editable install cannot stand in for the wheel;
    # the dependencies come from this environment's site-packages, after the target.
    path = f"{target}:{sysconfig.get_paths()['purelib']}"
    check = (
        "import cli.main, vault, lkvault.vault, lkvault.cli.main, lkvault.vault.format._deflate;"
        "assert vault.NAME == 'the other vault';"
        f"assert lkvault.vault.__file__.startswith({str(target)!r}), lkvault.vault.__file__;"
        "cli.main.main()"
    )
    env = {"PYTHONPATH": path, "PATH": "/usr/bin:/bin"}
    ran = subprocess.run(
        [sys.executable, "-S", "-c", check],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # not the checkout, whose vault/ and cli/ folders would be found first
        check=False,
    )
    assert ran.returncode == 0 and ran.stdout.strip() == "the other tool", ran.stderr[-3000:]

    helped = subprocess.run(
        [sys.executable, "-S", "-m", "lkvault.cli.main", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert helped.returncode == 0, helped.stderr[-3000:]
    assert "LinkedIn" in helped.stdout
