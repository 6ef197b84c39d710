"""Helpers for every engine's mover tests: run ``pyvolsync-mover``, build and describe trees.

Every test drives ``pyvolsync-mover ENGINE ...`` exactly as a Job does: a process with the
environment contract, whose stdout is the pod log and whose result lands in
``PYVOLSYNC_RESULT_PATH``. Every run is also checked for the repository password in its output
and result, so a leak fails whichever test causes it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyvolsync import contract

PASSWORD = "pw with spaces, $HOME and 'quotes' Kx7q2zR9"
MOVER = Path(sys.executable).parent / "pyvolsync-mover"
NOBODY = 65534


class MoverRun:
    """A finished ``pyvolsync-mover`` process: exit code, log and result document."""

    def __init__(self, returncode: int, output: str, result_text: str) -> None:
        self.returncode = returncode
        self.output = output
        self.result_text = result_text
        assert PASSWORD not in output, "the repository password leaked into the log"
        assert PASSWORD not in result_text, "the repository password leaked into the result"

    @property
    def result(self) -> contract.MoverResult:
        return contract.MoverResult.from_json(self.result_text)

    def __repr__(self) -> str:
        return f"MoverRun(returncode={self.returncode})\n{self.output}\n{self.result_text}"


class EngineWorkspace:
    """A data directory, a cache and a result path; each engine adds its repository settings."""

    engine = ""

    def __init__(self, root: Path, tool_dir: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.cache = root / "cache"
        self.result_path = root / "result.json"
        for path in (self.data, self.cache):
            path.mkdir()
        self.env = {
            "PATH": f"{tool_dir}:{MOVER.parent}:/usr/bin:/bin",
            "HOME": str(root),
            "TZ": "UTC",
            "DATA_DIR": str(self.data),
            "PRIVILEGED_MOVER": "0",
            "PYVOLSYNC_RESULT_PATH": str(self.result_path),
        }

    def environ(self, overrides: dict[str, str | None]) -> dict[str, str]:
        merged: dict[str, str | None] = {**self.env, **overrides}
        return {name: value for name, value in merged.items() if value is not None}

    def start_mover(self, *operations: str, **overrides: str | None) -> subprocess.Popen[str]:
        """Start the mover in the background; its stdout and stderr are one pipe."""
        self.result_path.unlink(missing_ok=True)
        return subprocess.Popen(
            [str(MOVER), self.engine, *operations],
            env=self.environ(overrides),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def finish(self, process: subprocess.Popen[str], *, timeout: float = 180) -> MoverRun:
        output, _ = process.communicate(timeout=timeout)
        text = self.result_path.read_text() if self.result_path.exists() else ""
        return MoverRun(process.returncode, output, text)

    def mover(self, *operations: str, **overrides: str | None) -> MoverRun:
        """Run ``pyvolsync-mover ENGINE OPERATIONS...`` to the end."""
        return self.finish(self.start_mover(*operations, **overrides))


def the_entry(run: MoverRun) -> contract.CatalogEntry:
    """Return the one catalog entry ``pin``, ``unpin`` or ``forget`` printed."""
    entries = contract.parse_catalog(run.output)
    assert entries is not None and len(entries) == 1, run
    return entries[0]


def wait_for(condition: Callable[[], object], *, timeout: float, what: str) -> None:
    """Poll ``condition()`` until it is true; fail the test with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


SPARSE_SIZE = 256 * 1024**2
SOURCE_UID, SOURCE_GID = 1234, 5678


def build_hostile_tree(root: Path) -> None:
    """Fill ``root`` with what breaks backup tools: odd names, links, holes, metadata."""
    (root / "empty-file").touch()
    (root / "plain.bin").write_bytes(os.urandom(300_000))
    with open(root / "sparse.img", "wb") as stream:
        stream.truncate(SPARSE_SIZE)
        stream.seek(SPARSE_SIZE // 2)
        stream.write(os.urandom(8192))
    (root / "link-to-plain").symlink_to("plain.bin")
    (root / "dangling-link").symlink_to("no/such/target")
    (root / "absolute-link").symlink_to("/etc/hostname")
    os.link(root / "plain.bin", root / "hardlink-to-plain")
    (root / "sub").mkdir()
    os.link(root / "plain.bin", root / "sub" / "another-hardlink")
    (root / "sub" / "lost+found").mkdir()
    (root / "sub" / "lost+found" / "nested-is-kept.txt").write_text("not the filesystem's")
    (root / "private").write_text("secret-ish")
    (root / "private").chmod(0o600)
    (root / "script.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "script.sh").chmod(0o755)
    (root / "setuid").write_text("s")
    (root / "setuid").chmod(0o4755)
    (root / "shared-tmp").mkdir()
    (root / "shared-tmp").chmod(0o1777)
    (root / "closed-dir").mkdir(mode=0o700)
    (root / "empty-dir").mkdir()
    (root / "empty-dir" / "empty-child").mkdir()
    (root / "ünïcødé-文件-🙂.txt").write_text("unicode")
    (root / "line\nbreak.txt").write_text("newline in the name")
    (root / "--help").write_text("a name that looks like a flag")
    (root / " spaces and * glob [chars]").write_text("x")
    deep = root.joinpath(*(f"level-{depth:02d}" for depth in range(40)))
    deep.mkdir(parents=True)
    (deep / "deep-file").write_text("deep")
    os.setxattr(root / "plain.bin", "user.comment", b"kept on restore")
    os.setxattr(root / "sub", "user.directory", b"dir attribute")
    os.chown(root / "private", SOURCE_UID, SOURCE_GID)
    os.chown(root / "sub", SOURCE_UID, SOURCE_GID)
    os.lchown(root / "link-to-plain", SOURCE_UID, SOURCE_GID)
    (root / "lost+found").mkdir()
    (root / "lost+found" / "#1234").write_text("fsck leftovers")
    set_times(root)


def set_times(root: Path) -> None:
    """Give every entry below ``root`` a distinct past mtime with nanoseconds (children first)."""
    paths = sorted(root.rglob("*"), key=lambda path: len(path.parts), reverse=True)
    for number, path in enumerate(paths):
        stamp = 1_600_000_000_123_456_789 + number * 1_000_000_007
        os.utime(path, ns=(stamp, stamp), follow_symlinks=False)


def _entry(path: Path) -> dict[str, Any]:
    status = os.lstat(path)
    entry: dict[str, Any] = {
        "type": stat.S_IFMT(status.st_mode),
        "mode": oct(stat.S_IMODE(status.st_mode)),
        "owner": (status.st_uid, status.st_gid),
        "mtime_ns": status.st_mtime_ns,
        "xattrs": {
            name: os.getxattr(path, name, follow_symlinks=False)
            for name in os.listxattr(path, follow_symlinks=False)
            if name.startswith("user.")
        },
    }
    if stat.S_ISLNK(status.st_mode):
        entry["target"] = os.readlink(path)
        entry["xattrs"] = {}
    elif stat.S_ISREG(status.st_mode):
        entry["size"] = status.st_size
        with open(path, "rb") as stream:
            entry["sha256"] = hashlib.file_digest(stream, "sha256").hexdigest()
    return entry


def describe(root: Path) -> dict[str, Any]:
    """Return every entry below ``root`` (minus the top lost+found) and its hard-link groups."""
    entries: dict[str, Any] = {}
    inodes: dict[tuple[int, int], list[str]] = {}
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        if relative == "lost+found" or relative.startswith("lost+found/"):
            continue
        entries[relative] = _entry(path)
        status = os.lstat(path)
        if status.st_nlink > 1 and not path.is_dir():
            inodes.setdefault((status.st_dev, status.st_ino), []).append(relative)
    return {"entries": entries, "hardlinks": sorted(sorted(group) for group in inodes.values())}
