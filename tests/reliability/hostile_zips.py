"""Hostile zips and the property every one of them must keep, shared by hypothesis and atheris.

Seeds are real zips (Python's zipfile in several modes, Info-ZIP and 7-Zip when installed, a
realistic synthetic export, crafted zip64 and data-descriptor archives). Mutations aim at the
structure: fields of every header set to boundary values, bytes flipped, cuts, splices and
member names replaced by path-traversal names of the same length. ``hostile_cases`` builds the
classics by hand: zip bombs (by ratio, by overlapping entries, lying sizes), huge headers, and
zip64 oddities.

The property (``ZipHarness.check``): storing the bytes as a snapshot either raises BadInput
with a clear one-line message and leaves the vault's snapshots as they were, or creates a
snapshot that restores byte for byte, and extracting it never writes outside its folder.
Anything else (another exception, wrong bytes, a changed vault) is a failure; the input is then
saved under tests/reliability/corpus/zip/ so that it becomes a regression test.
"""

from __future__ import annotations

import functools
import hashlib
import io
import random
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from helpers_cli import csv_text
from lkvault.vault import BadInput, Environment, Vault, VaultError
from lkvault.vault.format.crypto import KdfParams
from zipmakers import Crafted, craft_zip, deflated, make_zip, missing_tool, zeros_stream

from .checks import all_paths, one_line, remove_tree

CORPUS = Path(__file__).resolve().parent / "corpus"
ZIP_CORPUS = CORPUS / "zip"
SIGNATURES = (
    b"PK\x03\x04",
    b"PK\x01\x02",
    b"PK\x05\x06",
    b"PK\x06\x06",
    b"PK\x06\x07",
    b"PK\x07\x08",
)
BOUNDARY_VALUES = (0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 2**63 - 1, 2**64 - 1)
HOSTILE_NAMES = (
    b"../../../../tmp/lkvault-escaped",
    b"/etc/lkvault-absolute",
    b"C:\\Windows\\lkvault",
    b"a/../../lkvault-up",
    b"..\\..\\lkvault-backslash",
    b"name\x00hidden",
    b"",
    b"\xff\xfe\xfd invalid utf-8",
)
# Where the traversal names would land if they were followed from the filesystem root.
ESCAPE_TARGETS = (Path("/tmp/lkvault-escaped"), Path("/etc/lkvault-absolute"))
FAST_KDF = KdfParams(salt=b"reliability-campaign-salt", iterations=3, lanes=1, memory_kib=65536)


# --- seeds ----------------------------------------------------------------------------------------


def small_members() -> list[tuple[str, bytes | None]]:
    return [
        ("Connections.csv", csv_text(12_000, seed=301)),
        ("messages.csv", csv_text(5_000, seed=302)),
        ("Profile.csv", b"First Name,Last Name\nAda,Lovelace\n"),
        ("Jobs/", None),
        ("Jobs/Job Applications.csv", b""),
    ]


@functools.cache
def seed_zips() -> tuple[tuple[str, bytes], ...]:
    """Real zips, each a few tens of kilobytes: (producer, bytes)."""
    work = Path(tempfile.mkdtemp(prefix="lkvault-fuzz-seeds-"))
    try:
        seeds = []
        for producer in ("python", "python-stored", "python-zip64", "python-stream", "python-sfx",
                         "zip-6", "7z"):  # fmt: skip
            if missing_tool(producer) is None:
                seeds.append((producer, make_zip(producer, work, small_members()).read_bytes()))
        seeds.append(("exportgen", realistic_export(work).read_bytes()))
        csv = csv_text(3_000, seed=303)
        crafted = [deflated("Connections.csv", csv), deflated("Profile.csv", b"A,B\n1,2\n")]
        seeds.append(("crafted-zip64", craft_zip(crafted, zip64=True)))
        described = [deflated("Connections.csv", csv, descriptor="sig64")]
        seeds.append(("crafted-descriptor", craft_zip(described)))
        return tuple(seeds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def realistic_export(work: Path) -> Path:
    from datetime import date

    from bench.exportgen import export_name, generate_export

    when = date(2026, 1, 15)
    return generate_export(work / export_name(when), date=when, scale=0.01, seed=3)


# --- mutations ------------------------------------------------------------------------------------


def signature_offsets(data: bytes) -> list[int]:
    found = []
    for sig in SIGNATURES:
        at = data.find(sig)
        while at >= 0:
            found.append(at)
            at = data.find(sig, at + 1)
    return sorted(found)


def set_field(data: bytes, at: int, width: int, value: int) -> bytes:
    if at < 0 or at + width > len(data):
        return data
    value &= (1 << (8 * width)) - 1
    return data[:at] + value.to_bytes(width, "little") + data[at + width :]


def rename_members(data: bytes, name: bytes) -> bytes:
    """Every occurrence of the first member's name replaced by ``name``, cut or padded to the
    same length (so the structure stays valid and only the name is hostile)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            original = archive.infolist()[0].orig_filename.encode("utf-8", "surrogateescape")
    except Exception:  # noqa: BLE001 - a mutated seed may not open; then nothing to rename
        return data
    if not original:
        return data
    padded = (name + b"x" * len(original))[: len(original)]
    return data.replace(original, padded)


@dataclass(frozen=True)
class Mutation:
    """One change to a zip; ``where`` and ``value`` are scaled onto the data at apply time."""

    kind: str  # flip, field, truncate, insert, duplicate, rename
    where: int
    value: int
    width: int = 4
    blob: bytes = b""

    def apply(self, data: bytes) -> bytes:
        if not data:
            return data
        at = self.where % (len(data) + 1)
        if self.kind == "flip":
            at %= len(data)
            return data[:at] + bytes([data[at] ^ (self.value & 0xFF or 1)]) + data[at + 1 :]
        if self.kind == "field":
            sigs = signature_offsets(data)
            base = sigs[self.where % len(sigs)] if sigs else at
            return set_field(data, base + 4 + (self.value % 42), self.width, _boundary(self))
        if self.kind == "truncate":
            return data[:at]
        if self.kind == "insert":
            return data[:at] + self.blob + data[at:]
        if self.kind == "duplicate":
            length = self.value % 4096
            return data[:at] + data[at : at + length] + data[at:]
        if self.kind == "rename":
            return rename_members(data, HOSTILE_NAMES[self.value % len(HOSTILE_NAMES)])
        raise ValueError(self.kind)


def _boundary(m: Mutation) -> int:
    choice = m.value // 42
    if choice % 3 == 2:
        return choice  # an arbitrary value
    return BOUNDARY_VALUES[choice % len(BOUNDARY_VALUES)]


def mutate(seed: bytes, mutations: list[Mutation]) -> bytes:
    data = seed
    for mutation in mutations:
        data = mutation.apply(data)
    return data


def random_mutations(rng: random.Random, count: int) -> list[Mutation]:
    """Mutations drawn from ``rng`` (the long run's plain random fuzzing, and atheris's)."""
    kinds = ("flip", "field", "field", "truncate", "insert", "duplicate", "rename")
    return [
        Mutation(
            rng.choice(kinds),
            rng.randrange(1 << 24),
            rng.randrange(1 << 16),
            rng.choice((1, 2, 4, 8)),
            rng.randbytes(rng.randrange(0, 64)),
        )
        for _ in range(count)
    ]


# --- hand-made hostile zips -------------------------------------------------------------------


def _overlapping_bomb(copies: int) -> bytes:
    """Fifield's non-recursive bomb: many central entries all pointing at one member's data."""
    kernel = zeros_stream(2)
    member = Crafted(b"kernel", kernel, zlib.crc32(bytes(2 << 20)), 2 << 20)
    single = craft_zip([member])
    cd_start = single.index(b"PK\x01\x02")
    entry_end = single.index(b"PK\x05\x06")
    entry = single[cd_start:entry_end]
    names = [f"f{i:05d}".encode() for i in range(copies)]
    central = b"".join(entry.replace(b"kernel", n[:6].ljust(6, b"_")) for n in names)
    end = struct.pack("<HHHHIIH", 0, 0, copies, copies, len(central), cd_start, 0)
    return single[:cd_start] + central + b"PK\x05\x06" + end


def _lying_sizes() -> bytes:
    """Declares 1 KiB but inflates to 8 MiB (the reader must stop at the declared size)."""
    member = Crafted(b"Connections.csv", zeros_stream(8), zlib.crc32(bytes(1024)), 1024)
    return craft_zip([member])


def _huge_name() -> bytes:
    return craft_zip([deflated(b"N" * 65535, b"content under a 64 KiB name\n")])


def _huge_extra() -> bytes:
    data = craft_zip([deflated("Connections.csv", b"a,b\n1,2\n")])
    # Claim a 65535-byte extra field in the central entry that is not there.
    at = data.index(b"PK\x01\x02") + 30
    return set_field(data, at, 2, 0xFFFF)


def _huge_comment() -> bytes:
    return craft_zip([deflated("Connections.csv", b"a,b\n1,2\n")], comment=b"C" * 65535)


def _many_entries_claimed() -> bytes:
    data = craft_zip([deflated("Connections.csv", b"a,b\n1,2\n")])
    end = data.rindex(b"PK\x05\x06")
    return set_field(set_field(data, end + 8, 2, 0xFFFE), end + 10, 2, 0xFFFE)


def _zip64_fields(value: int, *offsets: int) -> bytes:
    """A zip64 archive with fields of its zip64 end record (at ``offsets``) set to ``value``."""
    data = craft_zip([deflated("Connections.csv", csv_text(2_000, seed=304))], zip64=True)
    record = data.index(b"PK\x06\x06")
    for offset in offsets:
        data = set_field(data, record + offset, 8, value)
    return data


def _zip64_short_extra() -> bytes:
    data = craft_zip([deflated("Connections.csv", b"a,b\n1,2\n")], zip64=True)
    at = data.index(b"PK\x01\x02")
    extra_at = at + 46 + len(b"Connections.csv")
    return set_field(data, extra_at + 2, 2, 4)  # the zip64 field says it holds 4 bytes


def _zip64_locator_past_end() -> bytes:
    data = craft_zip([deflated("Connections.csv", b"a,b\n1,2\n")], zip64=True)
    locator = data.index(b"PK\x06\x07")
    return set_field(data, locator + 8, 8, 2**62)


def _sizes_max_without_zip64() -> bytes:
    data = craft_zip([deflated("Connections.csv", b"a,b\n1,2\n")])
    at = data.index(b"PK\x01\x02")
    return set_field(set_field(data, at + 20, 4, 0xFFFFFFFF), at + 24, 4, 0xFFFFFFFF)


def _nested_zip() -> bytes:
    inner = craft_zip([Crafted(b"bomb", zeros_stream(4), zlib.crc32(bytes(4 << 20)), 4 << 20)])
    return craft_zip([deflated("inner.zip", inner)])


def _traversal(name: bytes) -> bytes:
    return craft_zip([deflated(name, b"should never land outside the folder\n"),
                      deflated("Connections.csv", b"a,b\n1,2\n")])  # fmt: skip


def _ratio_bomb() -> bytes:
    size = 64 << 20
    return craft_zip([Crafted(b"Connections.csv", zeros_stream(64), zlib.crc32(bytes(size)), size)])


KEPT = b"a,b\n1,2\n"  # the member every extraction clash case must still write


def _with_kept(*members: tuple[str, bytes]) -> bytes:
    """A zip of ``members`` (file names and contents) and Connections.csv, written with
    Python's zipfile so that a symbolic link entry carries its Unix mode."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members:
            info = zipfile.ZipInfo(name, (2026, 1, 15, 12, 0, 0))
            if name.startswith("link"):
                info.create_system = 3
                info.external_attr = 0o120777 << 16  # a symbolic link to /etc
            zf.writestr(info, content)
        zf.writestr("Connections.csv", KEPT)
    return out.getvalue()


def extraction_clash_cases() -> dict[str, tuple[Callable[[], bytes], int]]:
    """Zips whose members cannot all be written into one folder: (zip, members that cannot)."""
    deep = "d/" * 1000 + "x.csv"
    too_long = ("p" * 200 + "/") * 25 + "x.csv"  # every name fits; the path is over PATH_MAX
    return {
        "extraction clash: a member 1,000 folders deep": (lambda: _with_kept((deep, b"deep")), 0),
        "extraction clash: a path over the OS limit": (lambda: _with_kept((too_long, b"x")), 1),
        "extraction clash: a file Jobs and Jobs/x.csv": (
            lambda: _with_kept(("Jobs", b"file"), ("Jobs/x.csv", b"member")),
            1,
        ),
        "extraction clash: Jobs/x.csv and then a file Jobs": (
            lambda: _with_kept(("Jobs/x.csv", b"member"), ("Jobs", b"file")),
            1,
        ),
        "extraction clash: a symbolic link entry and link/x": (
            lambda: _with_kept(("link", b"/etc"), ("link/x", b"through the link")),
            1,
        ),
        "extraction clash: a/. beside a/b": (lambda: _with_kept(("a/.", b"dot"), ("a/b", b"b")), 1),
    }


def hostile_cases() -> dict[str, Callable[[], bytes]]:
    """The classic hostile zips by name; each must be refused in one line or stored exactly."""
    cases: dict[str, Callable[[], bytes]] = {
        "bomb: 64 MiB of zeros at over 1000:1": _ratio_bomb,
        "bomb: 2000 entries overlapping one member": lambda: _overlapping_bomb(2000),
        "bomb: sizes that lie (8 MiB inflating from a declared 1 KiB)": _lying_sizes,
        "bomb: a zip inside the zip": _nested_zip,
        "huge header: a 65535-byte member name": _huge_name,
        "huge header: an extra field claimed 65535 bytes long": _huge_extra,
        "huge header: a 65535-byte archive comment": _huge_comment,
        "huge header: 65534 entries claimed in a small directory": _many_entries_claimed,
        "zip64: 2^62 entries": lambda: _zip64_fields(2**62, 24, 32),
        "zip64: central directory of 2^62 bytes": lambda: _zip64_fields(2**62, 40),
        "zip64: central directory at offset 2^63-1": lambda: _zip64_fields(2**63 - 1, 48),
        "zip64: extra field too short": _zip64_short_extra,
        "zip64: locator pointing past the end": _zip64_locator_past_end,
        "zip64: sizes at 0xFFFFFFFF without a zip64 field": _sizes_max_without_zip64,
    }
    for name in HOSTILE_NAMES:
        cases[f"path traversal: {name!r}"] = functools.partial(_traversal, name or b"/")
    for name, (build, _) in extraction_clash_cases().items():
        cases[name] = build
    return cases


# --- the property ---------------------------------------------------------------------------------


class ZipHarness:
    """Vaults to store fuzzed zips in (made with the minimum allowed KDF cost). Each snapshot
    reads the whole history, so a vault is verified and replaced every VAULT_SNAPSHOTS."""

    VAULT_SNAPSHOTS = 200

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.inputs = 0
        self.stored = 0
        self.refused = 0
        self.vaults = 0
        self.vault = self._new_vault()

    def _new_vault(self) -> Vault:
        self.vaults += 1
        where = self.root / f"vault-{self.vaults}"
        env = Environment(state_dir=where / "state", lock_wait=5.0, workers=1)
        return Vault.init(str(where / "vault"), b"fuzz passphrase", env, kdf=FAST_KDF)

    def verify(self) -> None:
        """Whatever was stored or refused, the vault itself is intact."""
        report = self.vault.verify(read_data=True)
        assert report.ok, [p.describe() for p in report.problems]

    def check(self, data: bytes, label: str = "") -> str:
        """Store ``data``; returns "stored" or "refused", or fails (saving the input)."""
        try:
            return self._check(data)
        except BaseException as exc:
            if not isinstance(exc, KeyboardInterrupt):
                save_failure(data, f"{label} {exc.__class__.__name__}: {exc}")
            raise

    def _check(self, data: bytes) -> str:
        self.inputs += 1
        work = self.root / f"input-{self.inputs}"
        work.mkdir()
        try:
            path = work / "Basic_LinkedInDataExport_01-15-2026.zip"
            path.write_bytes(data)
            if self.stored and self.stored % self.VAULT_SNAPSHOTS == 0:
                self.verify()
                self.vault = self._new_vault()
            before = self._snapshot_files()
            try:
                created = self.vault.snapshot(path)
            except BadInput as exc:
                one_line(str(exc))
                after = self._snapshot_files()
                assert after == before, "a refused input changed the vault's snapshots"
                self.refused += 1
                return "refused"
            assert created.sha256 == hashlib.sha256(data).digest()
            restored = work / "restored.zip"
            self.vault.restore(created.id.hex(), restored)
            assert restored.read_bytes() == data, "the restore gave different bytes"
            self._extract_stays_inside(created.id.hex(), work)
            self.stored += 1
            return "stored"
        finally:
            remove_tree(work)

    def _snapshot_files(self) -> list[str]:
        return self.vault.repo.backend.list("snapshots/")

    def _extract_stays_inside(self, snap_id: str, work: Path) -> None:
        # Deep enough that the traversal names' '..' steps would still land inside ``work``.
        folder = work.joinpath("d1", "d2", "d3", "d4", "d5", "d6", "extracted")
        folder.parent.mkdir(parents=True)
        before = set(all_paths(work))
        try:
            result = self.vault.extract(snap_id, folder)[1]
        except VaultError as exc:
            one_line(str(exc))
        else:
            for line in result.failed:
                one_line(line)
        outside = [p for p in all_paths(work) if p not in before and not p.is_relative_to(folder)]
        assert not outside, f"extract wrote outside its folder: {outside}"
        for target in ESCAPE_TARGETS:
            assert not target.exists(), f"extract wrote {target}"


def save_failure(data: bytes, reason: str) -> Path:
    """Keep a failing input as a regression test (tests/reliability/corpus/zip/)."""
    ZIP_CORPUS.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:16]
    path = ZIP_CORPUS / f"crash-{digest}.zip"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text(" ".join(reason.split())[:500] + "\n")
    return path


def corpus_inputs() -> list[Path]:
    return sorted(ZIP_CORPUS.glob("*.zip")) if ZIP_CORPUS.is_dir() else []
