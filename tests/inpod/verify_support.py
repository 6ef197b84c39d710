"""The volume every engine's ``verify`` tests back up, restore and then check.

A home lab's app volume in small: a config file, a database with an empty write-ahead log,
photos (one hard-linked under a second name), a link, a non-ASCII name. ``FILES`` and ``BYTES``
are what a user counts with ``find -type f`` and ``du --apparent-size``: regular files, each
name of a hard link once, links not at all.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.inpod import inpod_support

from pyvolsync import contract

CONTENTS = {
    "config/app.ini": b"[app]\nport = 8080\n",
    "db/data.sqlite": os.urandom(300_000),
    "db/data.sqlite-wal": b"",
    "photos/2024/beach.jpg": os.urandom(50_000),
    "notes ünïcødé.txt": "ünïcødé".encode(),
}
HARD_LINK = "photos/beach-again.jpg"
FILES = len(CONTENTS) + 1
BYTES = sum(len(data) for data in CONTENTS.values()) + len(CONTENTS["photos/2024/beach.jpg"])
SHOWN = "390.7 KiB"
"""``BYTES`` (400029) as a message shows it."""
CORRUPTED = "db/data.sqlite"
"""The file changed after a restore (it has no other name)."""


def build(root: Path) -> None:
    """Write the volume into the empty folder ``root``."""
    for name, data in CONTENTS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    os.link(root / "photos/2024/beach.jpg", root / HARD_LINK)
    (root / "current-db").symlink_to("db/data.sqlite")


def corrupt(root: Path) -> None:
    """Flip one byte of ``CORRUPTED``, keeping its size (bit rot a count cannot see)."""
    path = root / CORRUPTED
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))


def scratch(root: Path) -> None:
    """Empty ``root`` as a new volume is: nothing but the file system's ``lost+found``."""
    for path in sorted(root.rglob("*"), key=lambda item: len(item.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()
    (root / "lost+found").mkdir()
    (root / "lost+found" / "#77").write_text("fsck leftovers: not the app's, never counted")


def failed_verify(run: inpod_support.MoverRun) -> contract.OperationResult:
    """Return the verify of a run that failed on it, checking the whole run says so."""
    assert run.returncode == contract.ExitCode.NOT_RETRIABLE, run
    result = run.result
    failed = (contract.Outcome.FAILED, contract.ErrorKind.VERIFY_FAILED)
    assert (result.outcome, result.error_kind) == failed, run
    verified = result.operations[-1]
    assert verified.operation is contract.Operation.VERIFY
    assert verified.message == result.message
    assert f"ERROR: {result.message}" in run.output
    return verified


def passed_verify(run: inpod_support.MoverRun, snapshot_id: str) -> contract.OperationResult:
    """Return the verify of a ``restore verify`` run of this volume, checking it passed with
    every file counted and sampled (the default sample of 20 takes all of them)."""
    assert run.returncode == 0, run
    result = run.result
    assert result.outcome is contract.Outcome.SUCCEEDED
    restored, verified = result.operations
    assert verified.outcome is contract.Outcome.SUCCEEDED
    assert verified.snapshot_id == restored.snapshot_id == snapshot_id
    assert (verified.files_restored, verified.bytes_restored) == (FILES, BYTES)
    assert verified.files_sampled == FILES
    assert (result.files_sampled, result.verified) == (FILES, verified.verified)
    assert f"verified: {verified.verified}" in run.output
    return verified
