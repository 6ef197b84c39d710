"""The anomaly guard's verdict over a realistic week of hourly backups, and over real wipes.

A week of an app's life is simulated file by file (what restic would see at each hourly backup):
a photo library that grows, a database with a write-ahead log that comes and goes, logs rotated
daily, a cache emptied now and then, a small config volume. None of it may trip the guard; an
app deleting 90% of its files, emptying its volume or renaming every file must.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from pyvolsync import contract
from pyvolsync.inpod import guard

Files = dict[str, int]
"""A volume: path -> size in bytes."""


def _judge(before: Files, after: Files, thresholds: contract.Guard | None = None) -> str:
    deleted = len(before.keys() - after.keys())
    return guard.verdict(
        guard.Figures(files=len(before), bytes=sum(before.values())),
        guard.Figures(files=len(after), bytes=sum(after.values())),
        deleted=deleted,
        guard=thresholds or contract.Guard(),
    )


def _photos(files: Files, hour: int, chance: random.Random) -> None:
    for index in range(chance.randint(0, 12)):
        files[f"photos/{hour}-{index}.jpg"] = chance.randint(2, 8) << 20
    if hour % 24 == 3:  # someone tidies up a few blurry shots each night
        for name in chance.sample(sorted(files), k=min(5, len(files))):
            del files[name]


def _database(files: Files, hour: int, chance: random.Random) -> None:
    files["db/app.sqlite"] = (40 << 20) + hour * 50_000
    if hour % 4 == 0:  # checkpoint: the write-ahead log is folded back into the database
        files.pop("db/app.sqlite-wal", None)
        files.pop("db/app.sqlite-shm", None)
    else:
        files["db/app.sqlite-wal"] = chance.randint(1, 30) << 20
        files["db/app.sqlite-shm"] = 32768


def _logs(files: Files, hour: int, chance: random.Random) -> None:
    files[f"logs/app-{hour // 24}.log"] = files.get(f"logs/app-{hour // 24}.log", 0) + 200_000
    for day in range(hour // 24 - 7, -1, -1):  # keep seven days of logs
        files.pop(f"logs/app-{day}.log", None)


def _cache(files: Files, hour: int, chance: random.Random) -> None:
    for index in range(chance.randint(5, 40)):
        files[f"cache/{hour}-{index}"] = chance.randint(1_000, 500_000)
    if hour % 36 == 35:  # the app trims its cache to the newest third
        cached = sorted(name for name in files if name.startswith("cache/"))
        for name in cached[: len(cached) // 3]:
            del files[name]


def _config(files: Files, hour: int, chance: random.Random) -> None:
    files["config.yaml"] = 1200 + hour % 3
    if hour % 24 == 0:
        files["config.yaml.bak"] = 1200
    elif hour % 24 == 1:
        files.pop("config.yaml.bak", None)


APPS: dict[str, Callable[[Files, int, random.Random], None]] = {
    "photos": _photos,
    "database": _database,
    "logs": _logs,
    "cache": _cache,
    "config": _config,
}


def _seeded(name: str) -> Files:
    files: Files = {}
    chance = random.Random(name)
    if name == "photos":
        files |= {f"photos/old-{index}.jpg": chance.randint(2, 8) << 20 for index in range(3000)}
    if name in ("logs", "cache"):
        for hour in range(-48, 0):
            APPS[name](files, hour, chance)
    return files


@pytest.mark.parametrize("name", sorted(APPS))
def test_a_week_of_normal_life_never_trips_the_guard(name: str) -> None:
    files, chance = _seeded(name), random.Random(name)
    APPS[name](files, 0, chance)
    verdicts = []
    for hour in range(1, 7 * 24):
        before = dict(files)
        APPS[name](files, hour, chance)
        verdicts += [(hour, found) for found in [_judge(before, files)] if found]
    assert verdicts == []


def _library() -> Files:
    return {f"photos/{index}.jpg": 3 << 20 for index in range(1000)}


def test_an_app_deleting_most_of_its_files_is_suspicious() -> None:
    before = _library()
    after = dict(list(before.items())[:100])

    assert _judge(before, after) == (
        "900 of 1000 files are gone (90%); it holds 300.0 MiB, 90% less than 2.9 GiB"
    )


def test_an_empty_volume_after_a_full_one_is_suspicious() -> None:
    assert _judge({"a.txt": 10}, {}) == "the snapshot is empty; the previous one held 1 files"


def test_every_file_renamed_is_a_mass_deletion_though_nothing_shrank() -> None:
    before = _library()
    after = {f"{name}.encrypted": size + 16 for name, size in before.items()}

    assert _judge(before, after) == (
        "1000 of the previous 1000 files were deleted or renamed (100%)"
    )


def test_thresholds_can_be_tightened_per_source() -> None:
    before = _library()
    after = dict(list(before.items())[:700])

    assert _judge(before, after) == ""
    assert "300 of 1000 files are gone (30%)" in _judge(
        before, after, contract.Guard(files_drop=25, bytes_drop=100, deleted=100)
    )


def test_a_tiny_volume_losing_a_few_files_is_not_an_attack() -> None:
    before = {"app.db": 4096, "app.db-wal": 8192, "app.db-shm": 32768}

    assert _judge(before, {"app.db": 12288}) == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", contract.Guard()),
        ("files-drop=30%", contract.Guard(files_drop=30)),
        (
            "files-drop=30,bytes-drop=40,deleted=100",
            contract.Guard(files_drop=30, bytes_drop=40, deleted=100),
        ),
    ],
)
def test_guard_text_round_trips(text: str, expected: contract.Guard) -> None:
    assert contract.Guard.from_text(text) == expected
    assert contract.Guard.from_text(expected.to_text()) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("files-drop=0", "'0' is not a percentage from 1 to 100"),
        ("size-drop=5", "'size-drop' is not one of files-drop, bytes-drop, deleted"),
        ("deleted=half", "'half' is not a percentage"),
    ],
)
def test_a_malformed_guard_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        contract.Guard.from_text(text)
