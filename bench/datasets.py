"""Generated data sets for the benchmarks, cached so that a rerun starts timing within seconds.

A volume's contents decide what restic spends its time on: incompressible data (photos, packed
databases) costs encryption and I/O, compressible data (logs, text) costs compression, and many
small files cost metadata work. The default set is half and half by bytes, in many files of
long-tailed sizes over a two-level directory tree. Sizes and names come from a seed; contents
come from ``os.urandom`` so nothing deduplicates by accident. A finished set is kept under
``~/.cache/pyvolsync/bench-data-<bytes>-<files>-v<FORMAT>/`` with its manifest digest, which the
benchmark uses to verify every restore.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import shutil
from pathlib import Path

from demo import tree

FORMAT = 1
FILES_PER_DIRECTORY = 100
DIRECTORIES_PER_GROUP = 20
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
LOG_LINE = "2026-11-25T12:{minute:02d}:{second:02d}Z INFO request={token} status=200 path=/items\n"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Dataset:
    """A generated tree and what is known about it."""

    root: Path
    files: int
    bytes: int
    digest: str

    @property
    def tree(self) -> Path:
        """The directory to back up."""
        return self.root / "tree"


def parse_size(text: str) -> int:
    """Return the byte count of ``1G``, ``50M``, ``512KiB`` or ``1000``; raise ValueError if not."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if match is None:
        raise ValueError(f"not a size: {text!r} (examples: 1G, 50M, 512KiB)")
    return int(float(match.group(1)) * UNITS[match.group(2).upper()])


def cache_root() -> Path:
    """Return the project's cache directory (``PYVOLSYNC_CACHE`` or ``~/.cache/pyvolsync``)."""
    configured = os.environ.get("PYVOLSYNC_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "pyvolsync"


def ensure(*, total_bytes: int, files: int, cache: Path, seed: int = 1) -> Dataset:
    """Return the cached data set with these parameters, generating it first if needed."""
    root = location(total_bytes=total_bytes, files=files, cache=cache)
    described = load(root)
    if described is not None:
        return described
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    (partial / "tree").mkdir(parents=True)
    generate(partial / "tree", total_bytes=total_bytes, files=files, seed=seed)
    manifest = tree.manifest(partial / "tree")
    digest = tree.digest(manifest)
    description = {"files": files, "bytes": total_bytes, "digest": digest}
    (partial / "dataset.json").write_text(json.dumps(description, indent=2) + "\n")
    partial.rename(root)
    return Dataset(root=root, files=files, bytes=total_bytes, digest=digest)


def location(*, total_bytes: int, files: int, cache: Path) -> Path:
    """Return where the data set with these parameters is cached."""
    return cache / f"bench-data-{total_bytes}-{files}-v{FORMAT}"


def load(root: Path) -> Dataset | None:
    """Return the data set cached at ``root``, or None if it is missing or incomplete."""
    try:
        description = json.loads((root / "dataset.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if not (root / "tree").is_dir():
        return None
    return Dataset(
        root=root,
        files=int(description["files"]),
        bytes=int(description["bytes"]),
        digest=str(description["digest"]),
    )


def generate(root: Path, *, total_bytes: int, files: int, seed: int) -> None:
    """Write ``files`` files holding ``total_bytes`` bytes below ``root``, half incompressible."""
    rng = random.Random(seed)
    incompressible = plan_sizes(total_bytes // 2, (files + 1) // 2, rng=rng)
    compressible = plan_sizes(total_bytes - total_bytes // 2, files // 2, rng=rng)
    for number in range(files):
        is_random = number % 2 == 0
        size = (incompressible if is_random else compressible)[number // 2]
        path = root / file_path(number, suffix=".bin" if is_random else ".log")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size) if is_random else log_text(size))


def plan_sizes(total: int, count: int, *, rng: random.Random) -> list[int]:
    """Return ``count`` long-tailed file sizes that add up to exactly ``total``."""
    if count == 0:
        return []
    weights = [rng.lognormvariate(0.0, 1.2) for _ in range(count)]
    scale = total / sum(weights)
    sizes = [int(weight * scale) for weight in weights]
    largest = max(range(count), key=sizes.__getitem__)
    sizes[largest] += total - sum(sizes)
    return sizes


def file_path(number: int, *, suffix: str) -> str:
    """Return the relative path of file ``number``: ``group/directory/file``."""
    directory = number // FILES_PER_DIRECTORY
    group, leaf = divmod(directory, DIRECTORIES_PER_GROUP)
    return f"g{group:03d}/d{leaf:02d}/file-{number:06d}{suffix}"


def log_text(size: int) -> bytes:
    """Return ``size`` bytes of log-like text: compressible, but unique thanks to random tokens."""
    tokens = os.urandom(size // 10 + 8).hex()
    lines = []
    length = 0
    index = 0
    while length < size:
        start = (12 * index) % (len(tokens) - 12)
        token = tokens[start : start + 12]
        line = LOG_LINE.format(minute=index // 60 % 60, second=index % 60, token=token)
        lines.append(line)
        length += len(line)
        index += 1
    return "".join(lines).encode()[:size]
