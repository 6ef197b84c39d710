"""What the browsing tests of both engines share: an awkward tree, and reading what the mover
printed (the tree line, the streams) the way the CLI does."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from tests.inpod.inpod_support import MoverRun, set_times

from pyvolsync import contract

UNICODE = "ünïcødé-文件-🙂.txt"
NEWLINE = "line\nbreak.txt"
SPACES = " spaces and * glob [chars]"
DEEP = "/".join(f"level-{depth:02d}-{'x' * 24}" for depth in range(12))  # 407 characters
HOLE = 1024 * 1024


def build_awkward_tree(root: Path, *, version: int) -> None:
    """Fill ``root`` with the names and kinds that break browsing; ``version`` changes some."""
    (root / UNICODE).write_text(f"unicode {version}")
    (root / NEWLINE).write_text("newline in the name")
    (root / SPACES).write_text("x")
    (root / "--help").write_text("a name that looks like a flag")
    (root / "plain.bin").write_bytes(bytes(range(256)) * (1000 + version))
    with open(root / "sparse.img", "wb") as stream:
        stream.truncate(HOLE)
        stream.seek(HOLE // 2)
        stream.write(b"data in the middle of a hole")
    (root / "link-to-plain").symlink_to("plain.bin")
    os.link(root / "plain.bin", root / "hardlink-to-plain")
    (root / "sub").mkdir()
    (root / "sub" / "config.ini").write_text(f"[app]\nversion = {version}\n")
    (root / "script.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "script.sh").chmod(0o755)
    deep = root / DEEP
    deep.mkdir(parents=True)
    (deep / "deep-file").write_text("deep")
    set_times(root)


def tree(run: MoverRun) -> list[contract.TreeEntry]:
    """Return the entries of the tree line the run printed."""
    parsed = contract.parse_tree(run.output)
    assert parsed is not None, run
    return parsed[0]


def streams(run: MoverRun) -> dict[str, bytes]:
    """Return each stream's bytes by path, checked against its trailer."""
    received: dict[str, io.BytesIO] = {}

    def sink_for(header: contract.StreamHeader) -> io.BytesIO:
        received[header.path] = io.BytesIO()
        return received[header.path]

    contract.read_streams(run.output.splitlines(), lambda header: sink_for(header).write)
    return {path: data.getvalue() for path, data in received.items()}


def extracted(archive: bytes, target: Path) -> Path:
    """Extract a downloaded tar archive as the CLI does; return ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as opened:
        opened.extractall(target, filter="tar")
    return target
