"""Hostile CSV files for the export parsers (vault.export), and the property they must keep.

Seeds are the members of realistic synthetic exports of both eras (bench/exportgen.py: the
2025 layout, and the 2018 one with UTF-16 files and ``Notes:`` preambles). Mutations damage
the text the way real files get damaged or forged: bytes flipped, cuts, stray quotes and NULs,
BOMs, other encodings, huge fields and lines, headers repeated or removed, and members renamed.

The property (``check_export``): ``load_export`` never raises, returns an ``Export``, and what
it cannot parse becomes warnings (one line each). A failing input is saved under
tests/reliability/corpus/csv/ as a JSON document of its members.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import random
import zipfile
from pathlib import Path

from .hostile_zips import CORPUS

CSV_CORPUS = CORPUS / "csv"
INSERTS = (
    b'"', b'""', b"\x00", b"\r", b"\n", b",", b"\t", b"\\", b"\xef\xbb\xbf", b"\xff\xfe",
    b"Notes:\n", b'"unterminated', b"\xed\xa0\x80", b"\xc3", b"=cmd|' /C calc'!A0",
)  # fmt: skip


def export_modules_missing() -> str | None:
    try:
        from lkvault.vault.export import Export, load_export  # noqa: F401
    except ImportError as exc:
        return f"lkvault.vault.export not available ({exc})"
    return None


@functools.cache
def seed_exports() -> tuple[tuple[str, dict[str, bytes]], ...]:
    """(archive name, members) of a small realistic export of each era."""
    import tempfile
    from datetime import date

    from bench.exportgen import export_name, generate_export

    seeds = []
    with tempfile.TemporaryDirectory(prefix="lkvault-csv-seeds-") as work:
        for era in ("2025", "2018"):
            when = date(2026 if era == "2025" else 2018, 3, 15)
            path = generate_export(
                Path(work) / export_name(when, era), date=when, scale=0.01, seed=5, era=era
            )
            with zipfile.ZipFile(path) as archive:
                members = {
                    info.filename: archive.read(info)
                    for info in archive.infolist()
                    if not info.is_dir()
                }
            seeds.append((path.name, members))
    return tuple(seeds)


def mutate_text(data: bytes, rng: random.Random) -> bytes:
    """One damage of the kinds listed in the module docstring."""
    kind = rng.randrange(9)
    at = rng.randrange(len(data) + 1)
    if kind == 0 and data:
        at %= len(data)
        return data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1 :]
    if kind == 1:
        return data[:at]
    if kind == 2:
        return data[:at] + rng.choice(INSERTS) * rng.randrange(1, 4) + data[at:]
    if kind == 3:
        field = rng.choice((b"x", b'"', b"\xe2\x82\xac", b",")) * rng.randrange(1, 300_000)
        return data[:at] + field + data[at:]
    if kind == 4:
        try:
            return data.decode("utf-8").encode(rng.choice(("utf-16", "utf-16-be", "cp1252")))
        except (UnicodeDecodeError, UnicodeEncodeError):
            return data[::-1]
    if kind == 5:
        lines = data.split(b"\n")
        rng.shuffle(lines)
        return b"\n".join(lines)
    if kind == 6:
        header, _, rest = data.partition(b"\n")
        return rest if rng.random() < 0.5 else header + b"\n" + header + b"\n" + rest
    if kind == 7:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 512)))
    return data.replace(b",", b";") if rng.random() < 0.5 else data.replace(b"\n", b"\r")


def mutate_export(members: dict[str, bytes], rng: random.Random, damages: int) -> dict[str, bytes]:
    out = dict(members)
    names = sorted(out)
    for _ in range(damages):
        name = rng.choice(names)
        if rng.random() < 0.1:
            # Renamed: another folder, another case, a known table under a wrong name.
            new = rng.choice((name.upper(), "x/" + name, name + ".bak", "Connections.csv"))
            out[new] = out.pop(name, b"")
            names = sorted(out)
            continue
        out[name] = mutate_text(out.get(name, b""), rng)
    return out


def check_export(members: dict[str, bytes], archive_name: str | None) -> object:
    """``load_export`` never raises, returns an Export, and reports problems as warnings."""
    from lkvault.vault.export import Export, load_export

    try:
        result = load_export({name: (lambda d=data: d) for name, data in members.items()},
                             archive_name)  # fmt: skip
        assert isinstance(result, Export), f"load_export returned {type(result).__name__}"
        for warning in result.warnings:
            assert isinstance(warning, str) and warning.strip(), repr(warning)
            assert "\n" not in warning.strip(), f"a multi-line warning: {warning!r}"
        return result
    except BaseException as exc:
        if not isinstance(exc, KeyboardInterrupt):
            save_failure(members, archive_name, f"{exc.__class__.__name__}: {exc}")
        raise


def save_failure(members: dict[str, bytes], archive_name: str | None, reason: str) -> Path:
    CSV_CORPUS.mkdir(parents=True, exist_ok=True)
    document = {
        "archive_name": archive_name,
        "reason": " ".join(reason.split())[:500],
        "members": {n: base64.b64encode(d).decode() for n, d in sorted(members.items())},
    }
    raw = json.dumps(document, indent=1).encode()
    path = CSV_CORPUS / f"crash-{hashlib.sha256(raw).hexdigest()[:16]}.json"
    path.write_bytes(raw)
    return path


def load_failure(path: Path) -> tuple[dict[str, bytes], str | None]:
    document = json.loads(path.read_text())
    members = {n: base64.b64decode(d) for n, d in document["members"].items()}
    return members, document["archive_name"]


def corpus_inputs() -> list[Path]:
    return sorted(CSV_CORPUS.glob("*.json")) if CSV_CORPUS.is_dir() else []


def members_from_bytes(data: bytes, seed: dict[str, bytes]) -> dict[str, bytes]:
    """Raw fuzzer bytes as an export: a known table of the seed replaced by them (atheris)."""
    buffer = io.BytesIO(data)
    pick = buffer.read(1)
    names = sorted(seed)
    name = names[pick[0] % len(names)] if pick else names[0]
    return {**seed, name: buffer.read()}
