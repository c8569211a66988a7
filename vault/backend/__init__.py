"""Storage backends (names and bytes only) and the choice of one from a vault location."""

from __future__ import annotations

from ..errors import UsageError
from .base import Backend
from .local import LocalBackend

__all__ = ["Backend", "LocalBackend", "open_backend"]


def open_backend(location: str) -> Backend:
    """The backend for a vault location: a local path (remote schemes come later)."""
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise UsageError(f"vault location scheme {scheme}:// is not supported by this lkvault")
    return LocalBackend(location)
