"""The vault the damage tests share: snapshots A, B and C stored through the CLI, one by one.

A is random bytes, B an export zip, C the next month's export with B's Connections.csv, so that
C needs chunks stored with B. test_tamper.py and test_corruption.py each build one, of their
own sizes, and damage private copies of it.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from helpers_cli import Lk, csv_text, random_bytes, vault_files

LABELS = ("A", "B", "C")


@dataclass
class Stored:
    lk: Lk
    ids: dict[str, str]  # label -> snapshot id
    data: dict[str, bytes]  # label -> the bytes that snapshot stored
    added: dict[str, set[str]]  # label -> storage names of the files its snapshot wrote


def export_zip_with(path: Path, connections: bytes, messages: bytes) -> bytes:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Connections.csv", connections)
        archive.writestr("messages.csv", messages)
        archive.writestr("Profile.csv", b"First Name,Last Name\nAda,Lovelace\n")
    return path.read_bytes()


def store_abc(
    base: Path,
    *,
    random_size: int,
    connections_size: int,
    messages_sizes: tuple[int, int],
    seed: int,
) -> Stored:
    """A new vault in ``base`` holding A, B and C. Their inputs come from ``seed`` (A),
    ``seed + 1`` (the connections B and C share), ``seed + 2`` and ``seed + 3`` (B's and C's
    messages)."""
    lk = Lk(base / "vault", base / "state")
    lk.init()
    paths = {"A": base / "a.bin", "B": base / "export-jan.zip", "C": base / "export-feb.zip"}
    paths["A"].write_bytes(random_bytes(random_size, seed=seed))
    connections = csv_text(connections_size, seed=seed + 1)
    export_zip_with(paths["B"], connections, csv_text(messages_sizes[0], seed=seed + 2))
    export_zip_with(paths["C"], connections, csv_text(messages_sizes[1], seed=seed + 3))
    ids: dict[str, str] = {}
    added: dict[str, set[str]] = {}
    for label in LABELS:
        before = vault_files(lk.vault)
        ids[label] = lk.snapshot(paths[label])
        added[label] = vault_files(lk.vault) - before
    return Stored(lk, ids, {label: path.read_bytes() for label, path in paths.items()}, added)
