"""The rules for storage names that every backend enforces the same way."""

from __future__ import annotations

TEMP_PREFIX = ".tmp-"


def check_name(name: str) -> str:
    """``name`` if it is a valid storage name, else ValueError.

    Valid names are relative, '/'-separated, with no empty, '.' or '..' part, and no part
    that looks like a backend's temporary file.
    """
    parts = name.split("/")
    if not name or any(p in ("", ".", "..") or p.startswith(TEMP_PREFIX) for p in parts):
        raise ValueError(f"invalid storage name {name!r}")
    return name


def check_prefix(prefix: str) -> str:
    """A folder prefix such as ``data/`` (the trailing '/' is optional); '' is the root."""
    folder = prefix.rstrip("/")
    return "" if not folder else check_name(folder) + "/"
