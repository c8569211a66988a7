"""Test helper: write the same LinkedIn-like members as zips by each real producer, or craft zips.

Producers: Python zipfile (several modes), Java ZipOutputStream (compiled with javac on first
use), Info-ZIP `zip -6`/`zip -9`, and 7-Zip `7z a -tzip`.  `make_zip(producer, workdir)` writes
`workdir/<producer>.zip` and returns its path; `missing_tool(producer)` says why a producer
cannot run here, or None.  `craft_zip` assembles a zip byte by byte for malformed inputs.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import io
import os
import random
import shutil
import struct
import subprocess
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

MemberSpec = tuple[str, bytes | None]  # (name, content); None is a directory entry

SFX_STUB = b'#!/bin/sh\n# self-extracting archive stub\nexec unzip -o "$0"\nexit 1\n' * 8
ARCHIVE_COMMENT = b"LinkedIn data export, PK\x05\x06 lookalike inside the comment\n"

_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
_LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]
_COMPANY = ["Initech", "Globex", "Hooli", "Umbrella", "Stark Industries", "Wayne Enterprises"]
_TITLE = ["Software Engineer", "Data Scientist", "Product Manager", "CTO", "Recruiter"]


def csv_bytes(size: int, seed: int, ids: bool = False) -> bytes:
    """`size` bytes of a Connections.csv-like table, the same for the same arguments.

    With `ids`, each row carries a random profile id and sometimes an email, so the rows share
    fewer long repeats; Info-ZIP then ends deflate blocks early (see test_deflate.py).
    """
    rng = random.Random(seed)
    rows = [b"First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"]
    length = len(rows[0])
    while length < size:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        slug, email = f"{first}-{last}".lower(), ""
        if ids:
            slug += f"-{rng.getrandbits(32):08x}"
            if rng.random() < 0.3:
                email = f"{first}.{last}{rng.randrange(100)}@example.com".lower()
        month = rng.choice(["Jan", "Feb", "Mar", "Apr"])
        row = (
            f"{first},{last},https://www.linkedin.com/in/{slug},{email},{rng.choice(_COMPANY)},"
            f"{rng.choice(_TITLE)},{rng.randrange(1, 29):02d} {month} 20{rng.randrange(10, 26)}\n"
        ).encode()
        rows.append(row)
        length += len(row)
    return b"".join(rows)[:size]


def _members(ids: bool) -> tuple[MemberSpec, ...]:
    return (
        ("Email Addresses.csv", b""),
        ("Profile.csv", csv_bytes(4_000, 1, ids)),
        ("Connections.csv", csv_bytes(40_000, 2, ids)),
        ("messages.csv", csv_bytes(300_000, 3, ids)),
        ("Rich_Media.csv", csv_bytes(2_000_000, 4, ids)),
        ("Articles/", None),
        ("Jobs/", None),
        ("Jobs/Job Applications.csv", csv_bytes(40_000, 5, ids)),
        ("Jobs/Saved Jobs été.csv", csv_bytes(4_000, 6, ids)),
    )


@functools.cache
def standard_members() -> tuple[MemberSpec, ...]:
    """Sizes 0, 4 KB, 40 KB, 300 KB, 2 MB, a directory entry and a Jobs/ folder."""
    return _members(ids=False)


@functools.cache
def id_members() -> tuple[MemberSpec, ...]:
    """The same names and sizes, with random profile ids in the rows."""
    return _members(ids=True)


# --- Python zipfile ---------------------------------------------------------------------------


def _python_write(zf: zipfile.ZipFile, members: Sequence[MemberSpec], zip64: bool) -> None:
    for name, data in members:
        if data is None:
            zf.mkdir(name.rstrip("/"))
        elif zip64:
            with zf.open(name, "w", force_zip64=True) as out:
                out.write(data)
        else:
            zf.writestr(name, data)


def _python(
    path: Path,
    members: Sequence[MemberSpec],
    compression: int = zipfile.ZIP_DEFLATED,
    zip64: bool = False,
    comment: bytes = b"",
) -> None:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        _python_write(zf, members, zip64)
        zf.comment = comment


def _python_stream(path: Path, members: Sequence[MemberSpec], zip64: bool) -> None:
    """Write through a pipe, which zipfile cannot seek: every member gets a data descriptor."""
    read_fd, write_fd = os.pipe()
    with open(path, "wb") as sink, os.fdopen(read_fd, "rb") as source:
        copier = threading.Thread(target=shutil.copyfileobj, args=(source, sink))
        copier.start()
        with (
            os.fdopen(write_fd, "wb") as pipe,
            zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        ):
            _python_write(zf, members, zip64)
        copier.join()


def _python_sfx(path: Path, members: Sequence[MemberSpec]) -> None:
    """A stub followed by a zip whose offsets count from the zip's own start (`cat stub zip`)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _python_write(zf, members, zip64=False)
    path.write_bytes(SFX_STUB + buf.getvalue())


# --- external producers -----------------------------------------------------------------------


def _write_tree(root: Path, members: Sequence[MemberSpec]) -> None:
    for name, data in members:
        target = root / name
        if data is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def _run(args: list[str], cwd: Path) -> None:
    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")


def _infozip(level: int) -> Callable[[Path, Sequence[MemberSpec]], None]:
    def make(path: Path, members: Sequence[MemberSpec]) -> None:
        src = path.with_suffix(".src")
        _write_tree(src, members)
        names = [name.rstrip("/") for name, _ in members]
        _run(["zip", "-q", f"-{level}", str(path.resolve()), "--", *names], src)

    return make


def _sevenzip(path: Path, members: Sequence[MemberSpec]) -> None:
    src = path.with_suffix(".src")
    _write_tree(src, members)
    top = list(dict.fromkeys(name.split("/")[0] for name, _ in members))
    _run(["7z", "a", "-tzip", "-bd", "-y", str(path.resolve()), "--", *top], src)


JAVA_SOURCE = """\
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.zip.*;

public class MakeZip {
    public static void main(String[] args) throws IOException {
        Path src = Paths.get(args[1]);
        try (ZipOutputStream zip = new ZipOutputStream(new FileOutputStream(args[0]))) {
            for (String name : Files.readAllLines(Paths.get(args[2]), StandardCharsets.UTF_8)) {
                zip.putNextEntry(new ZipEntry(name));
                if (!name.endsWith("/")) {
                    zip.write(Files.readAllBytes(src.resolve(name)));
                }
                zip.closeEntry();
            }
        }
    }
}
"""


@functools.cache
def _java_classes() -> Path:
    """Compile MakeZip.java once per source version, into a shared cache directory."""
    digest = hashlib.sha256(JAVA_SOURCE.encode()).hexdigest()[:16]
    home = Path(tempfile.gettempdir()) / f"lkvault-zipmakers-java-{digest}"
    if (home / "MakeZip.class").exists():
        return home
    build = Path(tempfile.mkdtemp(prefix="lkvault-javac-"))
    (build / "MakeZip.java").write_text(JAVA_SOURCE)
    _run(["javac", "-d", str(build), "MakeZip.java"], build)
    try:
        build.rename(home)
    except OSError:  # another process compiled it first
        shutil.rmtree(build, ignore_errors=True)
    return home


def _java(path: Path, members: Sequence[MemberSpec]) -> None:
    src = path.with_suffix(".src")
    _write_tree(src, members)
    listing = path.with_suffix(".names")
    listing.write_text("".join(name + "\n" for name, _ in members), encoding="utf-8")
    classes = _java_classes()
    args = ["java", "-cp", str(classes), "MakeZip", str(path.resolve()), str(src.resolve())]
    _run([*args, str(listing.resolve())], src)


Maker = Callable[[Path, Sequence[MemberSpec]], None]

PRODUCERS: dict[str, Maker] = {
    "python": lambda p, m: _python(p, m),
    "python-stored": lambda p, m: _python(p, m, compression=zipfile.ZIP_STORED),
    "python-zip64": lambda p, m: _python(p, m, zip64=True),
    "python-comment": lambda p, m: _python(p, m, comment=ARCHIVE_COMMENT),
    "python-stream": lambda p, m: _python_stream(p, m, zip64=False),
    "python-stream-zip64": lambda p, m: _python_stream(p, m, zip64=True),
    "python-sfx": _python_sfx,
    "java": _java,
    "zip-6": _infozip(6),
    "zip-9": _infozip(9),
    "7z": _sevenzip,
}

_TOOLS = {"java": ("javac", "java"), "zip-6": ("zip",), "zip-9": ("zip",), "7z": ("7z",)}


def missing_tool(producer: str) -> str | None:
    """Why `producer` cannot run on this machine, or None when it can."""
    for tool in _TOOLS.get(producer, ()):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (needed for the {producer} producer)"
    return None


def make_zip(producer: str, workdir: Path, members: Sequence[MemberSpec] | None = None) -> Path:
    """Write workdir/<producer>.zip with `members` (default: standard_members())."""
    path = workdir / f"{producer}.zip"
    PRODUCERS[producer](path, standard_members() if members is None else members)
    return path


# --- crafted zips -----------------------------------------------------------------------------


@dataclass
class Crafted:
    """One member of a crafted zip: `data` is written as its compressed bytes, as is."""

    name: bytes
    data: bytes
    crc32: int
    size: int  # the uncompressed size the headers declare
    method: int = 8
    flags: int = 0
    descriptor: str = ""  # "", or a data descriptor: "sig", "nosig", "sig64" or "nosig64"
    made_by: int = 20  # version made by; the high byte is the host system (3 = Unix)


def deflated(
    name: str | bytes, content: bytes, level: int = 6, flags: int = 0, descriptor: str = ""
) -> Crafted:
    """A member holding `content` deflated by zlib at `level`."""
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    data = comp.compress(content) + comp.flush()
    raw = name.encode() if isinstance(name, str) else name
    return Crafted(raw, data, zlib.crc32(content), len(content), 8, flags, descriptor)


def zeros_stream(mib: int) -> bytes:
    """A raw deflate stream of `mib` MiB of zeros, built without compressing them all."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(bytes(1 << 20)) + comp.flush(zlib.Z_FULL_FLUSH)
    return block * mib + b"\x03\x00"


def _descriptor(m: Crafted) -> bytes:
    fmt = "<IQQ" if m.descriptor.endswith("64") else "<III"
    sig = b"PK\x07\x08" if m.descriptor.startswith("sig") else b""
    return sig + struct.pack(fmt, m.crc32, len(m.data), m.size)


def craft_zip(
    members: Sequence[Crafted],
    comment: bytes = b"",
    zip64: bool = False,
    prefix: bytes = b"",
    central: Sequence[int] | None = None,
) -> bytes:
    """A zip of `members`, byte by byte.

    `zip64`: zip64 extra fields and end records.  `prefix`: bytes before the first member,
    counted in the offsets.  `central`: which members the central directory lists, in order
    (default: all of them).
    """
    out, entries = bytearray(prefix), []
    for m in members:
        offset = len(out)
        flags = m.flags | (8 if m.descriptor else 0)
        crc, csize, usize = (0, 0, 0) if m.descriptor else (m.crc32, len(m.data), m.size)
        extra = b""
        if zip64:
            extra = struct.pack("<HHQQ", 1, 16, usize, csize)
            csize = usize = 0xFFFFFFFF
        local = struct.pack("<HHHHHIIIHH", 20, flags, m.method, 0, 0x21, crc, csize, usize,
                            len(m.name), len(extra))  # fmt: skip
        out += b"PK\x03\x04" + local + m.name + extra + m.data
        if m.descriptor:
            out += _descriptor(m)
        entries.append(_central_entry(m, flags, offset, zip64))
    cd_start = len(out)
    for i in range(len(members)) if central is None else central:
        out += entries[i]
    count, cd_size = len(members) if central is None else len(central), len(out) - cd_start
    if zip64:
        record_at = len(out)
        record = (44, 45, 45, 0, 0, count, count, cd_size, cd_start)
        out += b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", *record)
        out += b"PK\x06\x07" + struct.pack("<IQI", 0, record_at, 1)
        count, cd_size, cd_start = 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF
    end = (0, 0, count, count, cd_size, cd_start, len(comment))
    return bytes(out + b"PK\x05\x06" + struct.pack("<HHHHIIH", *end) + comment)


def _central_entry(m: Crafted, flags: int, offset: int, zip64: bool) -> bytes:
    csize, usize, extra = len(m.data), m.size, b""
    if zip64:
        extra = struct.pack("<HHQQQ", 1, 24, usize, csize, offset)
        csize = usize = offset = 0xFFFFFFFF
    fixed = (m.made_by, 20, flags, m.method, 0, 0x21, m.crc32, csize, usize)
    rest = (len(m.name), len(extra), 0, 0, 0, 0, offset)
    return b"PK\x01\x02" + struct.pack("<HHHHHHIIIHHHHHII", *fixed, *rest) + m.name + extra


@functools.cache
def _cache_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="lkvault-zipmakers-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@functools.cache
def cached_zip(producer: str, ids: bool = False) -> Path:
    """make_zip() of the standard (or `ids`) members, once per process, in a temp directory."""
    workdir = _cache_dir() / ("ids" if ids else "standard")
    workdir.mkdir(exist_ok=True)
    return make_zip(producer, workdir, id_members() if ids else standard_members())
