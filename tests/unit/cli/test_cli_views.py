"""What `pyvolsync status`, `restore` and `snapshots` compute from objects, without a cluster."""

from __future__ import annotations

import datetime
import io

import pytest
import rich.console

from pyvolsync import contract
from pyvolsync.api import validation
from pyvolsync.cli import follow, restore, snapshots, views

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)


def source(status: dict[str, object], **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": "app", "namespace": "media"},
        "spec": {"sourcePVC": "data", "restic": {"repository": "repo"}, **spec},
        "status": status,
    }


def test_times_and_sizes_read_like_a_person_would_say_them() -> None:
    assert views.relative(NOW - datetime.timedelta(minutes=3, seconds=5), now=NOW) == "3m5s ago"
    assert views.relative(NOW + datetime.timedelta(hours=2, minutes=5), now=NOW) == "in 2h5m"
    assert views.relative(None, now=NOW) == "-"
    assert views.short_duration(90061) == "1d1h"
    assert views.size(512) == "512 B"
    assert views.size(3 * 2**30 + 2**29) == "3.5 GiB"
    assert views.size(None) == "-"
    assert views.go_duration("30.591396s") == "30.6s"
    assert views.go_duration("1h2m3.5s") == "1h2m"
    assert views.go_duration(None) == "-"


def test_a_finished_backup_row_has_every_documented_field() -> None:
    status = {
        "lastSyncTime": "2026-11-25T11:57:00Z",
        "lastSyncDuration": "41s",
        "nextSyncTime": "2026-11-25T13:00:00Z",
        "latestMoverStatus": {"result": "Successful", "logs": "..."},
        "lastSyncResult": {"outcome": "succeeded", "snapshotID": "3f2a9c1e77aa", "bytesAdded": 10},
        "conditions": [
            {"type": "Synchronizing", "status": "False", "reason": "WaitingForSchedule",
             "message": "Waiting for next scheduled synchronization",
             "lastTransitionTime": "2026-11-25T11:57:00Z"},
        ],
    }  # fmt: skip
    row = views.status_row(source(status, trigger={"schedule": "0 * * * *"}))
    assert tuple(row) == views.ROW_FIELDS
    assert row["kind"] == "source" and row["trigger"] == "0 * * * *"
    assert (row["snapshot"], row["bytesAdded"], row["progress"]) == ("3f2a9c1e", 10, None)
    assert (row["result"], row["reason"]) == ("Successful", "WaitingForSchedule")
    unchanged = dict(status, lastSyncResult={"outcome": "succeeded", "snapshotID": "abc"})
    assert views.status_row(source(unchanged))["bytesAdded"] == 0, "zero is left out of status"


def test_a_running_sync_shows_its_progress_and_a_failure_is_red() -> None:
    running = {
        "lastSyncStartTime": "2026-11-25T11:59:00Z",
        "progress": {"percent": 42.4, "bytesDone": 42, "bytesTotal": 100, "etaSeconds": 125},
    }
    row = views.status_row(source(running, trigger={"manual": "one"}))
    assert row["trigger"] == "manual: one"
    assert views.progress_text(row["progress"]) == "42% ETA 2m5s"
    assert follow.phase(running) == "42 B of 100 B, ETA 2m5s"
    assert views.progress_text(views.progress_of({"lastSyncStartTime": "x"})) == "running"
    assert views.reason_text("WrongPassword", "Failed").style == "red"
    assert views.reason_text("WaitingForManual", "Failed").style == "red"
    assert views.reason_text("WaitingForManual", "Successful").style == "green"


def test_the_restore_takes_the_sources_repository_and_mover_settings() -> None:
    restic = {
        "repository": "repo",
        "copyMethod": "Snapshot",
        "moverSecurityContext": {"runAsUser": 1000},
        "cacheCapacity": "5Gi",
        "retain": {"daily": 7},
    }
    spec = restore.restore_spec(restic, claim="back", value="v1", as_of=None, previous=2)
    assert spec == {
        "trigger": {"manual": "v1"},
        "restic": {
            "repository": "repo",
            "copyMethod": "Direct",
            "destinationPVC": "back",
            "restoreAsOf": None,
            "previous": 2,
            "moverSecurityContext": {"runAsUser": 1000},
            "cacheCapacity": "5Gi",
        },
    }
    source_claim = {"spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs",
                             "resources": {"requests": {"storage": "8Gi"}}}}  # fmt: skip
    claim = restore.claim_manifest(
        "back", source_section=restic, source_claim=source_claim, capacity=None
    )
    assert claim["spec"] == {
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": "8Gi"}},
        "storageClassName": "nfs",
    }


def test_a_kopia_restore_reads_the_source_s_identity() -> None:
    kopia = {"repository": "kopia-repo", "copyMethod": "Snapshot", "compression": "zstd"}
    spec = restore.restore_spec(
        kopia, claim="back", value="v1", as_of=None, previous=None, engine="kopia",
        source=("shop", "web"),
    )  # fmt: skip
    assert "restic" not in spec
    assert spec["kopia"]["sourceIdentity"] == {"sourceName": "web", "sourceNamespace": "shop"}
    assert spec["kopia"]["repository"] == "kopia-repo"
    assert "compression" not in spec["kopia"]  # a backup setting, not a restore one

    renamed = {**kopia, "username": "alice", "sourcePathOverride": "/srv"}
    spec = restore.restore_spec(
        renamed, claim="back", value="v1", as_of=None, previous=None, engine="kopia",
        source=("shop", "web"),
    )  # fmt: skip
    assert (spec["kopia"]["username"], spec["kopia"]["hostname"]) == ("alice", "shop")
    assert spec["kopia"]["sourceIdentity"] == {
        "sourceName": "web",
        "sourceNamespace": "shop",
        "sourcePathOverride": "/srv",
    }
    destination = {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationDestination",
        "metadata": {"name": "back-restore", "namespace": "shop", "uid": "u"},
        "spec": {**spec, "kopia": {k: v for k, v in spec["kopia"].items() if v is not None}},
    }
    assert validation.validate_destination(destination) == []


@pytest.mark.parametrize(
    ("engine", "keys"),
    [
        ("restic", {"RESTIC_REPOSITORY", "RESTIC_PASSWORD", "AWS_ACCESS_KEY_ID"}),
        ("kopia", {"KOPIA_REPOSITORY", "KOPIA_PASSWORD", "AWS_ACCESS_KEY_ID"}),
    ],
)
def test_the_snapshot_listing_job_runs_the_engines_listing_with_secret_references_only(
    engine: str, keys: set[str]
) -> None:
    obj = source({}, trigger={"manual": "one"})
    obj["metadata"] = {"name": "app", "namespace": "media", "uid": "u-1"}
    obj["spec"] = {"sourcePVC": "data", engine: {"repository": "repo"}}
    job = snapshots.listing_job(
        obj,
        secret_keys=frozenset(keys),
        image="mover:1",
        repository_volume={"nfs": {"server": "nas", "path": "/backups"}},
    )
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert [*container["command"], *container["args"]] == ["pyvolsync-mover", engine, "snapshots"]
    from_secret = {item["name"] for item in container["env"] if "valueFrom" in item}
    assert from_secret == keys
    assert all(
        item["valueFrom"]["secretKeyRef"]["name"] == "repo"
        for item in container["env"]
        if "valueFrom" in item
    )
    assert {"name": "repository", "mountPath": "/repository"} in container["volumeMounts"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["data"] == {"name": "data", "emptyDir": {}}, "the app's data is not mounted"
    assert volumes["cache"] == {"name": "cache", "emptyDir": {}}
    assert job["spec"]["backoffLimit"] == 0 and "ownerReferences" not in job["metadata"]
    assert job["metadata"]["labels"] == {"app.kubernetes.io/created-by": "pyvolsync-cli"}


def test_a_catalog_line_becomes_the_rows_snapshots_prints() -> None:
    entry = contract.CatalogEntry(
        id="abcdef0123", time="2026-11-25T10:00:00Z", size=5, files=2, added=3,
        tags=("a",), hostname="volsync", paths=("/data",), identity="media/app",
    )  # fmt: skip
    log = f"12:00:00 INFO something\n{contract.catalog_line([entry])}\n=== Done ===\n"
    listed = contract.parse_catalog(log)
    assert listed == [entry]
    assert snapshots.snapshot_row(entry) == {
        "time": "2026-11-25T10:00:00Z", "id": "abcdef01", "size": 5, "files": 2, "added": 3,
        "pinned": False, "tags": ["a"], "hostname": "volsync", "paths": ["/data"],
        "identity": "media/app",
    }  # fmt: skip
    assert contract.parse_catalog("no catalog here\n") is None


def test_a_listing_that_finds_no_repository_without_a_volume_says_where_it_looked() -> None:
    missing = contract.MoverResult(
        outcome=contract.Outcome.FAILED,
        error_kind=contract.ErrorKind.REPOSITORY_MISSING,
        message="there is no restic repository at /repository/a1",
    )
    pod = {
        "spec": {"containers": [{"name": "restic"}]},
        "status": {
            "containerStatuses": [
                {"name": "restic", "state": {"terminated": {"message": missing.to_json()}}}
            ]
        },
    }

    without = snapshots._failure([pod], "", "a1", volume_mounted=False)
    mounted = snapshots._failure([pod], "", "a1", volume_mounted=True)

    assert "no restic repository at /repository/a1 (repository-missing)" in without
    assert "--repository-nfs SERVER:/PATH" in without
    assert "PYVOLSYNC_REPOSITORY_NFS" in without and "pyvolsync.dev/repository-volume" in without
    assert "--repository-nfs" not in mounted and "pyvolsync describe a1" in mounted


def fleet() -> list[dict[str, object]]:
    """A realistic home-lab fleet: long namespaces and names, schedules, a running sync."""
    rows = []
    for index, (namespace, name) in enumerate(
        [
            ("media-servers", "jellyfin-config"),
            ("media-servers", "sonarr-config"),
            ("home-automation", "home-assistant-data"),
            ("team-a", "postgres-primary"),
            ("observability", "grafana-storage"),
        ]
    ):
        status = {
            "lastSyncTime": "2026-11-25T11:57:00Z",
            "lastSyncDuration": "1m30.5s",
            "nextSyncTime": "2026-11-25T13:00:00Z",
            "latestMoverStatus": {"result": "Successful"},
            "lastSyncResult": {"snapshotID": f"a1b2c3d4e5f6{index}", "bytesAdded": 123456789},
            "conditions": [{"type": "Synchronizing", "reason": "WaitingForSchedule"}],
        }
        obj = source(status, trigger={"schedule": "0 */6 * * *"})
        obj["metadata"] = {"namespace": namespace, "name": name}
        rows.append(views.status_row(obj))
    return rows


def printed(table: object, *, width: int) -> list[str]:
    console = rich.console.Console(
        file=io.StringIO(), width=width, force_terminal=False, color_system=None
    )
    console.print(table)
    output = console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue().rstrip("\n").splitlines()


def test_status_at_80_columns_drops_columns_instead_of_wrapping_or_cutting() -> None:
    rows = fleet()

    lines = printed(views.status_table(rows, now=NOW, width=80), width=80)

    assert len(lines) == 1 + len(rows), "one line per row: nothing wraps"
    assert all(len(line) <= 80 for line in lines)
    header = lines[0].split()
    assert header[:2] == ["NAMESPACE", "NAME"] and "REASON" in header
    assert "ADDED" not in header and "DURATION" not in header, "the least useful go first"
    assert "home-automation" in lines[3] and "home-assistant-data" in lines[3], "names are whole"
    assert "…" not in "\n".join(lines)


def test_status_wide_shows_every_column_on_one_line_per_row() -> None:
    rows = fleet()
    columns = views.status_columns(NOW)
    width = views.table_width(columns, rows)

    lines = printed(views.status_table(rows, now=NOW), width=width)

    assert len(lines) == 1 + len(rows)
    assert [column.header for column in columns] == [
        "NAMESPACE", "NAME", "KIND", "TRIGGER", "LAST SYNC", "DURATION", "NEXT SYNC", "RESULT",
        "SNAPSHOT", "ADDED", "PROGRESS", "REASON",
    ]  # fmt: skip
    assert all(column.header in lines[0] for column in columns)
    assert "0 */6 * * *" in lines[1] and "117.7 MiB" in lines[1]


@pytest.mark.parametrize("wide", [False, True], ids=["table", "wide"])
def test_print_table_fits_the_console_or_widens_it_for_every_column(wide: bool) -> None:
    rows = fleet()
    columns = views.status_columns(NOW)
    console = rich.console.Console(
        file=io.StringIO(), width=80, force_terminal=False, color_system=None
    )

    views.print_table(console, columns, rows, wide=wide)

    output = console.file
    assert isinstance(output, io.StringIO)
    lines = output.getvalue().rstrip("\n").splitlines()
    assert len(lines) == 1 + len(rows)
    header = lines[0].split()
    if wide:
        assert "ADDED" in header and "DURATION" in header
        assert max(map(len, lines)) > 80
    else:
        assert "ADDED" not in header and all(len(line) <= 80 for line in lines)
