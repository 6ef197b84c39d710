"""The log lines that reach status.latestMoverStatus.logs: upstream's story, a kilobyte at most."""

from pyvolsync.movers import logfilter

BACKUP_LOG = """Starting container
restic 0.18.1 compiled with go1.26.8 on linux/amd64
repository 7b3d8016 opened (version 2, compression level auto)
progress 40% 4.0 MiB of 10 MiB
Added to the repository: 98.7 KiB (98.5 KiB stored)
processed 2 files, 97.7 KiB in 0:01
snapshot 34739b80 saved
Restic completed in 3s
"""


def test_a_success_keeps_only_the_story() -> None:
    kept = logfilter.summarize(BACKUP_LOG, succeeded=True)
    assert kept.splitlines() == [
        "repository 7b3d8016 opened (version 2, compression level auto)",
        "Added to the repository: 98.7 KiB (98.5 KiB stored)",
        "processed 2 files, 97.7 KiB in 0:01",
        "snapshot 34739b80 saved",
        "Restic completed in 3s",
    ]


def test_a_failure_keeps_every_line() -> None:
    kept = logfilter.summarize("one\ntwo\nFatal: wrong password\n", succeeded=False)
    assert kept == "one\ntwo\nFatal: wrong password"


def test_the_cut_keeps_the_newest_whole_lines() -> None:
    log = "\n".join(f"ERROR line {number} é" for number in range(200))
    kept = logfilter.summarize(log, succeeded=False, limit=100)
    assert len(kept.encode()) <= 100
    assert kept.splitlines()[-1] == "ERROR line 199 é"
    assert all(line.startswith("ERROR line ") for line in kept.splitlines())


def test_a_single_huge_line_is_cut_on_a_character_boundary() -> None:
    kept = logfilter.summarize("é" * 1000, succeeded=False, limit=101)
    assert kept == "é" * 50
