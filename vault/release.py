"""This installation's version, from the package metadata (pyproject.toml is its one source)."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as distribution_version


@cache
def version() -> str:
    """The installed lkvault's version, e.g. "0.3.2"."""
    try:
        return distribution_version("lkvault")
    except PackageNotFoundError:  # the folders imported without an install: no version to say
        return "0+unknown"


def tool_name() -> str:
    """How a snapshot record names the program that wrote it, e.g. "lkvault 0.3.2"."""
    return f"lkvault {version()}"
