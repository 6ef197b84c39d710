"""A small, deterministic volume that looks like an application's data, for the demo to back up.

The demo has to show that a backup brings back *everything* an app keeps on its volume, so the
sample has what such volumes hold: a database's binary pages, uploaded images, logs, config,
an executable hook, a symlink, an empty directory and names in several scripts. Every byte,
mode and mtime comes from one seed, so each run builds the same tree and prints the same digest.
"""

from __future__ import annotations

import dataclasses
import os
import random
from pathlib import Path

EPOCH = 1_764_000_000
"""2025-11-24T16:00:00Z: every mtime in the sample is this plus a seeded offset."""

LANGUAGES = ("english", "français", "español", "日本語", "Ελληνικά", "русский", "हिन्दी")
PAGE = 8192


@dataclasses.dataclass(frozen=True, kw_only=True)
class Change:
    """The edit the demo makes between its two backups, as paths relative to the volume."""

    added: frozenset[str]
    removed: frozenset[str]
    changed: frozenset[str]


def write_app_volume(root: Path, *, seed: int) -> None:
    """Fill the empty directory ``root`` with the sample application's data."""
    rng = random.Random(seed)
    write_config(root, rng)
    write_database(root, rng)
    write_uploads(root, rng)
    write_logs(root, rng)
    write_translations(root, rng)
    (root / "tmp").mkdir()


def apply_change(root: Path, *, seed: int) -> Change:
    """Edit the volume as an app would between two backups; return exactly what was edited."""
    rng = random.Random(seed + 1)
    changed = "db/base/16384/2619"
    write_file(root / changed, rng.randbytes(PAGE * 3), rng=rng)
    added = "uploads/2026/11/photo-new-ünïcødé.jpg"
    write_file(root / added, jpeg_like(rng, 40_000), rng=rng)
    removed = "logs/app-2026-11-01.log"
    (root / removed).unlink()
    return Change(
        added=frozenset({added}), removed=frozenset({removed}), changed=frozenset({changed})
    )


def write_file(path: Path, content: bytes, *, rng: random.Random, mode: int = 0o644) -> None:
    """Write one file with a seeded mtime, creating its parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(mode)
    moment = EPOCH + rng.randrange(86_400 * 30)
    os.utime(path, (moment, moment))


def write_config(root: Path, rng: random.Random) -> None:
    """Write the app's config, a deploy hook that must stay executable, and a symlink to it."""
    settings = "[server]\nport = 8080\nworkers = 4\n\n[storage]\npath = /data/db\n"
    write_file(root / "config" / "app.toml", settings.encode(), rng=rng, mode=0o640)
    hook = "#!/bin/sh\n# runs before each backup\nexec sync\n"
    write_file(root / "config" / "pre-backup.sh", hook.encode(), rng=rng, mode=0o755)
    (root / "config" / "current.toml").symlink_to("app.toml")


def write_database(root: Path, rng: random.Random) -> None:
    """Write binary table files made of 8 KiB pages, like a database's data directory."""
    for number in range(60):
        pages = rng.randint(1, 12)
        path = root / "db" / "base" / "16384" / str(2600 + number)
        write_file(path, rng.randbytes(PAGE * pages), rng=rng, mode=0o600)
    write_file(root / "db" / "postmaster.pid", b"", rng=rng, mode=0o600)


def write_uploads(root: Path, rng: random.Random) -> None:
    """Write user uploads spread over month folders, some with accented names."""
    for number in range(180):
        month = 1 + number % 11
        name = f"photo-{number:03d}.jpg" if number % 9 else f"façade-{number:03d} été.jpg"
        path = root / "uploads" / "2026" / f"{month:02d}" / name
        write_file(path, jpeg_like(rng, rng.randint(2_000, 30_000)), rng=rng)


def jpeg_like(rng: random.Random, size: int) -> bytes:
    """Return incompressible bytes behind a JPEG header, like a photo."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + rng.randbytes(size)


def write_logs(root: Path, rng: random.Random) -> None:
    """Write a month of daily text logs (compressible, unlike the photos)."""
    for day in range(1, 31):
        lines = (
            f"2026-11-{day:02d}T{hour:02d}:{rng.randrange(60):02d}:00Z INFO GET /items/"
            f"{rng.randrange(10_000)} 200 {rng.randrange(50, 900)}ms\n"
            for hour in range(24)
            for _ in range(rng.randint(5, 40))
        )
        write_file(root / "logs" / f"app-2026-11-{day:02d}.log", "".join(lines).encode(), rng=rng)


def write_translations(root: Path, rng: random.Random) -> None:
    """Write one message catalogue per language, named in that language's own script."""
    for language in LANGUAGES:
        text = f'{{"language": "{language}", "greeting": "{rng.randrange(1 << 32):08x}"}}\n'
        write_file(root / "i18n" / f"{language}.json", text.encode(), rng=rng)
