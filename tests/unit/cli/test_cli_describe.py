"""`pyvolsync describe` shows the restic maintenance stamps a user checks after a fault, and its
conditions and events read whole at any terminal width."""

import datetime
import io

import pytest
import rich.console

from pyvolsync.cli import describe
from pyvolsync.planning import inplace


def test_the_last_passed_check_is_shown_next_to_prune_and_unlock() -> None:
    status = {
        "restic": {
            "lastPruned": "2026-11-20T02:00:00Z",
            "lastUnlocked": "incident-7",
            "lastChecked": "2026-11-24T02:00:00Z",
        }
    }
    now = datetime.datetime(2026, 11, 26, tzinfo=datetime.UTC)

    rows = dict(describe.status_rows(status, now=now))

    assert rows["last pruned"] == "2026-11-20T02:00:00Z"
    assert rows["last unlocked"] == "incident-7"
    assert rows["last check passed"] == "2026-11-24T02:00:00Z"


def test_a_kopia_source_is_described_by_its_kopia_section_and_secret_keys() -> None:
    source = {
        "kind": "ReplicationSource",
        "spec": {"sourcePVC": "data", "kopia": {"repository": "kopia-repo", "compression": "zstd"}},
    }
    rows = dict(describe.spec_rows(source))
    assert rows["kopia.compression"] == "zstd"
    assert not any(key.startswith("restic.") for key in rows)

    secret = {"data": {"KOPIA_REPOSITORY": "eA=="}}
    found = dict(describe.secret_rows(secret, "kopia-repo", engine="kopia"))
    assert str(found["missing"]) == "KOPIA_PASSWORD"


def test_a_kopia_status_shows_its_identity_and_cache_limits() -> None:
    status = {
        "kopia": {
            "requestedIdentity": "web@shop:/data",
            "lastConfiguredMetadataCacheSizeLimitMB": 716,
            "lastConfiguredContentCacheSizeLimitMB": 204,
        }
    }
    now = datetime.datetime(2026, 11, 26, tzinfo=datetime.UTC)
    rows = dict(describe.status_rows(status, now=now))
    assert rows["identity"] == "web@shop:/data"
    assert (rows["metadata cache limit (MiB)"], rows["content cache limit (MiB)"]) == (716, 204)
    assert "last pruned" not in rows


def test_the_snapshots_the_repository_keeps_are_summed_up_in_words() -> None:
    status = {
        "snapshots": {
            "count": 24,
            "pinned": 1,
            "oldest": "2026-11-19T03:00:00Z",
            "newest": "2026-11-26T02:00:00Z",
        }
    }
    now = datetime.datetime(2026, 11, 26, 3, tzinfo=datetime.UTC)

    rows = dict(describe.status_rows(status, now=now))

    assert rows["snapshots kept"] == ("24 (1 pinned), 2026-11-19T03:00:00Z to 2026-11-26T02:00:00Z")
    assert "snapshots kept" not in dict(describe.status_rows({}, now=now))


def test_an_unfinished_in_place_restore_says_what_to_run_next() -> None:
    journal = inplace.Journal(
        source="app",
        snapshot="5c0e2b7d" * 8,
        paths=("/config/config.php",),
        phase=inplace.Phase.STOPPED,
        workloads=(inplace.Workload(kind="Deployment", name="web", replicas=2),),
        started_at="2026-12-03T20:14:02Z",
    )

    rows = dict(describe.in_place_rows(journal, named="app -n apps"))
    done = dict(describe.in_place_rows(journal.at(inplace.Phase.DONE), named="app -n apps"))

    assert str(rows["state"]) == "unfinished at step stopped"
    assert "pyvolsync undo app -n apps" in rows["next"]
    assert rows["workloads stopped meanwhile"] == "Deployment web (2 replicas)"
    assert (str(done["state"]), done["next"]) == ("done", "pyvolsync undo app -n apps")


NOW = datetime.datetime(2026, 12, 7, 10, 5, tzinfo=datetime.UTC)
WAITING = "Waiting for next scheduled synchronization at 2026-12-07T11:00:00Z"
SUSPICIOUS = (
    "snapshot 3f2a1b9c looks wrong: files down 80%. The snapshot before it, 11aa22bb, is pinned "
    "and retention and prune are held. If the change is expected: pyvolsync ack app -n apps"
)
CONDITION = {
    "type": "Synchronizing",
    "status": "False",
    "reason": "WaitingForSchedule",
    "lastTransitionTime": "2026-12-07T10:00:00Z",
    "message": WAITING,
}
EVENTS = [
    {"eventTime": "2026-12-07T09:58:00.000000Z", "type": "Warning", "reason": "BackupSuspicious",
     "note": SUSPICIOUS},
    {"eventTime": "2026-12-07T10:00:00.000000Z", "type": "Normal", "reason": "TransferCompleted",
     "note": "backup 3f2a1b9c of /data: 1,204 files, 15.2 MiB added, took 12.3s"},
]  # fmt: skip


def described(width: int) -> list[str]:
    console = rich.console.Console(file=io.StringIO(), width=width, color_system=None)
    console.print(describe.conditions_table({"conditions": [CONDITION]}, now=NOW))
    console.print(describe.events_table(EVENTS, now=NOW))
    output = console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue().splitlines()


@pytest.mark.parametrize("width", [60, 80])
def test_a_narrow_terminal_puts_each_message_under_its_cells_and_cuts_nothing(width: int) -> None:
    lines = described(width)
    assert all(len(line) <= width for line in lines), lines
    assert "Synchronizing  False   WaitingForSchedule  5m ago" in lines
    assert "7m ago  Warning  BackupSuspicious" in lines
    assert "5m ago  Normal   TransferCompleted" in lines
    words = " ".join(line.strip() for line in lines)
    assert WAITING in words and SUSPICIOUS in words


def test_a_wide_terminal_shows_one_line_per_condition_and_event() -> None:
    lines = described(250)
    assert lines[1].split() == ["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"]
    assert lines[2].endswith(f"5m ago  {WAITING}")
    assert lines[5].endswith(f"BackupSuspicious   {SUSPICIOUS}")
    assert len(lines) == 7


def test_the_latest_restore_drill_and_the_next_are_shown() -> None:
    drill = {
        "time": "2026-12-06T04:02:10Z",
        "result": "Failed",
        "snapshotID": "9a8b7c6d5e4f3a2b",
        "message": "your check exited with 3: integrity check: 3 pages corrupt",
        "nextTime": "2026-12-13T04:00:00Z",
    }
    rows = dict(describe.status_rows({"drill": drill}, now=NOW))
    last = rows["last restore drill"]
    assert last.plain.startswith("Failed ") and "9a8b7c6d" in last.plain
    assert "3 pages corrupt" in last.plain and last.style == "red"
    assert rows["next restore drill"] == "2026-12-13T04:00:00Z (in 5d17h)"


def test_the_hooks_of_the_latest_sync_are_shown_a_running_one_with_its_start() -> None:
    hooks = {
        "beforeBackup": {
            "startTime": "2026-12-07T09:59:00Z",
            "endTime": "2026-12-07T10:00:00Z",
            "result": "Failed",
            "message": "exit code 1 in pod db-0, container db: database is locked",
        },
        "afterBackup": {"startTime": "2026-12-07T10:00:00Z"},
    }
    rows = dict(describe.status_rows({"hooks": hooks}, now=NOW))
    before = rows["before-backup hook"]
    assert before.plain.startswith("Failed 2026-12-07T10:00:00Z")
    assert before.plain.endswith("database is locked") and before.style == "red"
    assert rows["after-backup hook"].startswith("running since 2026-12-07T10:00:00Z")
