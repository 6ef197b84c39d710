"""kopia's progress lines, read into the engines' common progress line.

kopia redraws one line on stderr with carriage returns (read here as separate lines):

- backup: `` / 1 hashing, 3 hashed (80 MB), 2 cached (60.1 MB), uploaded 77.5 MB, estimated
  140.1 MB (55.0%) 3s left`` (``estimating...`` until it knows the total);
- restore: ``Processed 5 (137.7 MB) of 6 (140.1 MB) 12 MB/s (98.3%) remaining 1s.``

Sizes are decimal (``MB``) unless ``KOPIA_BYTES_STRING_BASE_2`` makes them binary (``MiB``); the
time left is a Go duration (``1h2m3.5s``). The numbers are kopia's rounded ones, good for a
progress line; the result document's counters come from kopia's summaries.
"""

from __future__ import annotations

import dataclasses
import re

from pyvolsync.inpod import progress

_SIZE = r"[\d.]+ ?[KMGTPE]?i?B"
_BACKUP = re.compile(
    rf"(?P<hashing>\d+) hashing, (?P<hashed>\d+) hashed \((?P<hashed_bytes>{_SIZE})\), "
    rf"(?P<cached>\d+) cached \((?P<cached_bytes>{_SIZE})\), uploaded (?P<uploaded>{_SIZE})"
    rf"(?:.*?, estimated (?P<total>{_SIZE}) \((?P<percent>[\d.]+)%\) (?P<left>\S+) left)?"
)
_RESTORE = re.compile(
    rf"Processed (?P<done>\d+) \((?P<done_bytes>{_SIZE})\) of (?P<total>\d+) "
    rf"\((?P<total_bytes>{_SIZE})\)"
    r"(?:.*\((?P<percent>[\d.]+)%\) remaining (?P<left>[\d.hmsuµn]+?)\.?\s*$)?"
)
_SCALE = {"": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4, "P": 1000**5}
_GO_DURATION = re.compile(r"(?P<value>[\d.]+)(?P<unit>ms|us|µs|ns|h|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_size(text: str) -> int:
    """Return the bytes of kopia's ``140.1 MB`` (decimal) or ``3.2 GiB`` (binary)."""
    match = re.fullmatch(r"([\d.]+) ?([KMGTPE]?)(i?)B", text.strip())
    if match is None:
        raise ValueError(f"not a size: {text!r}")
    number, prefix, binary = match.groups()
    scale = 1024 ** "KMGTPE".index(prefix) * 1024 if binary else _SCALE[prefix]
    return round(float(number) * scale)


def parse_duration(text: str) -> float | None:
    """Return the seconds of a Go duration such as ``1m23.5s``; None if it is not one."""
    parts = list(_GO_DURATION.finditer(text))
    if not parts or "".join(part.group(0) for part in parts) != text:
        return None
    return sum(float(part["value"]) * _SECONDS[part["unit"]] for part in parts)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BackupCounters:
    """The last backup progress line: files hashed (new or changed) and cached, bytes sent."""

    files_hashed: int
    files_cached: int
    bytes_uploaded: int
    status: progress.Status


def parse_backup(line: str) -> BackupCounters | None:
    """Return what a backup progress line says, or None for any other line."""
    match = _BACKUP.search(line)
    if match is None:
        return None
    hashed, cached = int(match["hashed"]), int(match["cached"])
    done = parse_size(match["hashed_bytes"]) + parse_size(match["cached_bytes"])
    total = parse_size(match["total"]) if match["total"] else done
    status = progress.Status(
        fraction=float(match["percent"]) / 100 if match["percent"] else 0.0,
        bytes_done=done,
        bytes_total=total,
        files_done=hashed + cached,
        files_total=hashed + cached + int(match["hashing"]),
        seconds_remaining=parse_duration(match["left"]) if match["left"] else None,
    )
    return BackupCounters(
        files_hashed=hashed,
        files_cached=cached,
        bytes_uploaded=parse_size(match["uploaded"]),
        status=status,
    )


def parse_restore(line: str) -> progress.Status | None:
    """Return what a restore progress line says, or None for any other line."""
    match = _RESTORE.search(line)
    if match is None:
        return None
    done, total = parse_size(match["done_bytes"]), parse_size(match["total_bytes"])
    fraction = float(match["percent"]) / 100 if match["percent"] else (done / total if total else 0)
    return progress.Status(
        fraction=min(fraction, 1.0),
        bytes_done=done,
        bytes_total=total,
        files_done=int(match["done"]),
        files_total=int(match["total"]),
        seconds_remaining=parse_duration(match["left"]) if match["left"] else None,
    )
