"""What SQLite will ignore in a WAL file: committed frames after a damaged one.

SQLite rebuilds its view of a WAL-mode database from the `-wal` file: it reads frames in
order while each carries the header's salts and a valid cumulative checksum, and stops at
the first that does not, silently. Every transaction after one flipped byte is gone and
the database is a shorter, consistent one: the hash chain still verifies. This module reads
the WAL as SQLite's recovery does and says what it would skip
(format: https://www.sqlite.org/fileformat2.html#walformat).

Only committed frames count as lost: frames without a later commit frame are an unfinished
transaction (a killed writer; SQLite rightly drops them). A power cut during a write can
tear the last transaction, which then also shows here, though it was never acknowledged.
"""

from __future__ import annotations

import struct
import sys
from array import array
from dataclasses import dataclass

MAGIC_LITTLE, MAGIC_BIG = 0x377F0682, 0x377F0683
"""The magic number also says in which byte order the checksums read the data."""
VERSION = 3007000
_HEADER = struct.Struct(">8I")  # magic, version, page size, checkpoint no, salts, checksum
_FRAME = struct.Struct(">6I")   # page, db size after commit (0: not a commit), salts, checksum
_MASK = 0xFFFFFFFF
_READ_ATTEMPTS = 4
_PAGE_SIZES = frozenset(2**n for n in range(9, 17))


@dataclass(frozen=True, slots=True)
class WalDamage:
    """Frames of the WAL's current generation SQLite ignores, from the first bad one on."""

    frames: int    # ignored frames (the damaged one included)
    commits: int   # transactions among them (frames that end one)
    header: bool   # the WAL header itself is damaged: SQLite ignores every frame


def wal_damage(database: str) -> WalDamage | None:
    """What SQLite ignores of the committed frames in the WAL of the database file
    `database` (None: nothing, or no WAL). The WAL is read until two reads in a row
    agree: a frame half-written by another process at that moment is no damage."""
    previous = None
    for _ in range(_READ_ATTEMPTS):
        try:
            with open(f"{database}-wal", "rb") as wal:
                data = wal.read()
        except FileNotFoundError:
            return None
        if data == previous:
            page_size = _page_size(database, data)
            return None if page_size is None else _damage(data, page_size)
        previous = data
    return None  # a busy writer keeps changing it: nothing can be said


def _page_size(database: str, wal: bytes) -> int | None:
    """The database's page size, from its file header; else the WAL header's."""
    try:
        with open(database, "rb") as db:
            header = db.read(18)
    except OSError:
        header = b""
    if len(header) == 18 and header.startswith(b"SQLite format 3\0"):
        size = int.from_bytes(header[16:18], "big")
        return 65536 if size == 1 else size
    size = int.from_bytes(wal[8:12], "big")
    return size if size in _PAGE_SIZES else None


def _damage(data: bytes, page_size: int) -> WalDamage | None:
    if len(data) < _HEADER.size:
        return None  # no header yet: SQLite treats the WAL as empty, and so was it
    magic, version, size, _, salt1, salt2, sum1, sum2 = _HEADER.unpack_from(data)
    big = magic == MAGIC_BIG
    header_ok = (magic in (MAGIC_LITTLE, MAGIC_BIG) and version == VERSION
                 and size == page_size
                 and checksum(data[:24], (0, 0), big) == (sum1, sum2))
    frame_size = _FRAME.size + page_size
    offsets = range(_HEADER.size, len(data) - frame_size + 1, frame_size)
    if not header_ok:  # every frame is ignored: those of the generation the first one starts
        salts = _FRAME.unpack_from(data, offsets[0])[2:4] if offsets else None
        return _ignored(data, offsets, salts, header=True)
    running = (sum1, sum2)
    for index, offset in enumerate(offsets):
        _page, _commit, s1, s2, c1, c2 = _FRAME.unpack_from(data, offset)
        if (s1, s2) != (salt1, salt2):
            return _ignored(data, offsets[index + 1:], (salt1, salt2), header=False)
        running = checksum(data[offset:offset + 8], running, big)
        running = checksum(data[offset + _FRAME.size:offset + frame_size], running, big)
        if running != (c1, c2):
            return _ignored(data, offsets[index:], (salt1, salt2), header=False)
    return None


def _ignored(data: bytes, offsets: range, salts: tuple[int, ...] | None,
             header: bool) -> WalDamage | None:
    """The frames at `offsets` that carry `salts` (the generation SQLite would have read),
    when at least one of them ends a transaction."""
    frames = commits = 0
    for offset in offsets:
        _page, commit, s1, s2, _, _ = _FRAME.unpack_from(data, offset)
        if (s1, s2) == salts:
            frames += 1
            commits += commit != 0
    return WalDamage(frames, commits, header) if commits else None


def checksum(data: bytes, seed: tuple[int, int], big: bool) -> tuple[int, int]:
    """SQLite's WAL checksum of `data` (a multiple of 8 bytes), continuing from `seed`."""
    words = array("I", data)
    if big != (sys.byteorder == "big"):
        words.byteswap()
    s1, s2 = seed
    pairs = iter(words)
    for first, second in zip(pairs, pairs, strict=True):
        s1 = (s1 + first + s2) & _MASK
        s2 = (s2 + second + s1) & _MASK
    return s1, s2
