"""Which storage names can be vault objects; every other name is foreign and ignored.

Sync tools and file managers leave files in any folder (.DS_Store, desktop.ini, Thumbs.db,
Dropbox "(conflicted copy)", Syncthing ".sync-conflict-..."). Only names that follow
docs/FORMAT.md ("Files of a vault") are read as vault objects; the rest are reported by
``verify`` and ``repair`` as foreign, and ``repair`` moves them under SET_ASIDE_PREFIX.
"""

from __future__ import annotations

import re
from datetime import datetime

from lkvault.vault.backend import Backend

CONFIG = "config"
SET_ASIDE_PREFIX = "set-aside/"
_OBJECT = re.compile(
    r"(?:keys|locks)/[0-9a-f]{32}"
    r"|(?:index|snapshots|forget)/[0-9a-f]{64}"
    r"|data/(?P<fan>[0-9a-f]{2})/(?P<pack>[0-9a-f]{64})"
)


def is_vault_object(name: str) -> bool:
    """Whether ``name`` can be a vault object (its content may still be damaged)."""
    if name == CONFIG:
        return True
    match = _OBJECT.fullmatch(name)
    return match is not None and (match["fan"] is None or match["pack"].startswith(match["fan"]))


def list_objects(backend: Backend, prefix: str) -> list[str]:
    """The names under ``prefix`` that can be vault objects, foreign files left out."""
    return [name for name in backend.list(prefix) if is_vault_object(name)]


def foreign_names(backend: Backend) -> list[str]:
    """Every stored name that cannot be a vault object, except what repair set aside."""
    return [
        name
        for name in backend.list("")
        if not is_vault_object(name) and not name.startswith(SET_ASIDE_PREFIX)
    ]


def set_aside_name(name: str, when: datetime) -> str:
    """Where ``repair`` moves the foreign file ``name``: under set-aside/<UTC time>/."""
    return f"{SET_ASIDE_PREFIX}{when.strftime('%Y%m%dT%H%M%SZ')}/{name}"
