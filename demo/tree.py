"""Content manifests of directory trees, to prove that a restore gave back exactly what was saved.

Comparing two trees file by file with ``filecmp`` would miss modes, symlink targets and
modification times, and would not say *what* differs. A manifest maps every path below a root to
what a user would check (type, permission bits, size, content hash, symlink target, mtime), so
two trees are equal exactly when their manifests are, and their difference is a set operation.
The root directory itself is left out: it is the mount point, not part of the data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
from pathlib import Path

READ_BLOCK = 1 << 20


@dataclasses.dataclass(frozen=True, kw_only=True)
class Entry:
    """What a restore must reproduce for one path."""

    kind: str
    mode: int
    size: int = 0
    content: str = ""
    target: str = ""
    mtime_ns: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Difference:
    """How one manifest turns into another: the paths added, removed and changed."""

    added: frozenset[str]
    removed: frozenset[str]
    changed: frozenset[str]

    @property
    def empty(self) -> bool:
        """True when the two manifests are equal."""
        return not (self.added or self.removed or self.changed)


Manifest = dict[str, Entry]


def manifest(root: Path) -> Manifest:
    """Given a directory, return the manifest of everything below it (paths relative, POSIX)."""
    entries: Manifest = {}
    for directory, subdirectories, files in os.walk(root):
        base = Path(directory)
        for name in sorted([*subdirectories, *files]):
            path = base / name
            entries[path.relative_to(root).as_posix()] = entry(path)
    return entries


def entry(path: Path) -> Entry:
    """Return the entry of one path, without following a symlink."""
    status = path.lstat()
    mode = stat.S_IMODE(status.st_mode)
    if stat.S_ISLNK(status.st_mode):
        return Entry(kind="symlink", mode=mode, target=os.readlink(path))
    if stat.S_ISDIR(status.st_mode):
        return Entry(kind="directory", mode=mode)
    if stat.S_ISREG(status.st_mode):
        return Entry(
            kind="file",
            mode=mode,
            size=status.st_size,
            content=file_hash(path),
            mtime_ns=status.st_mtime_ns,
        )
    return Entry(kind="special", mode=mode)


def file_hash(path: Path) -> str:
    """Return the SHA-256 of a file's bytes, read in blocks so large files use little memory."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def digest(entries: Manifest) -> str:
    """Return one SHA-256 over a whole manifest: equal trees, equal digests."""
    total = hashlib.sha256()
    for path in sorted(entries):
        total.update(f"{path}\0{entries[path]!r}\n".encode(errors="surrogateescape"))
    return total.hexdigest()


def difference(before: Manifest, after: Manifest) -> Difference:
    """Return what changed from ``before`` to ``after``."""
    common = before.keys() & after.keys()
    return Difference(
        added=frozenset(after.keys() - before.keys()),
        removed=frozenset(before.keys() - after.keys()),
        changed=frozenset(path for path in common if before[path] != after[path]),
    )


def total_bytes(entries: Manifest) -> int:
    """Return the sum of the regular files' sizes."""
    return sum(item.size for item in entries.values() if item.kind == "file")
