"""App hooks on the local cluster: a consistent SQLite copy while the app keeps writing, and
every way a hook can go wrong, with real restic, real exec through the API server, real Jobs
and a real HTTP receiver.

A user annotates the source (``pyvolsync.dev/before-backup-*``, ``after-backup-*``) and checks
``status.hooks``, the events, the condition, and that the restored copy opens.
"""

from __future__ import annotations

import json
import pathlib
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import apply, get, wait_until
from tests.support.receiver import Receiver, receiving

from reconcile import helpers
from reconcile.conftest import Operator

SOURCE = "replicationsource"
WRITER = """
import sqlite3, sys, threading
database = sqlite3.connect("/data/app.db")
database.execute("pragma journal_mode=wal")  # no journal file that comes and goes mid-backup
database.execute("create table if not exists orders (id integer primary key, item text)")
database.commit()
print("writing", flush=True)
pause = threading.Event()
while True:
    with database:
        database.executemany("insert into orders (item) values (?)", [("x" * 300,)] * 5)
    pause.wait(0.02)
"""
RESUMED = "resumed after a backup that succeeded"
DUMP = '["sqlite3", "/data/app.db", ".timeout 10000", ".backup /data/app-backup.db"]'


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with receiving() as server:
        yield server


def app_pod(name: str = "db") -> dict[str, Any]:
    """The app: a pod that keeps writing to an SQLite database on the source PVC."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "db"}},
        "spec": {
            "containers": [
                {
                    "name": "db",
                    "image": "debian:13",
                    "command": ["python3", "-c", WRITER],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }
            ],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
        },
    }


def start_writer(cluster: controlplane.ControlPlane, namespace: str) -> None:
    apply(cluster, app_pod(), namespace=namespace)
    wait_until(
        lambda: "writing" in cluster.kubectl("logs", "-n", namespace, "db").stdout,
        what="the app to write",
    )


def hooked_source(**annotations: str) -> dict[str, Any]:
    source = helpers.replication_source("app", copy_method="Direct")
    source["metadata"]["annotations"] = {
        f"pyvolsync.dev/{key.replace('_', '-')}": value for key, value in annotations.items()
    }
    return source


def annotate(cluster: controlplane.ControlPlane, namespace: str, **annotations: str | None) -> None:
    found = {f"pyvolsync.dev/{key.replace('_', '-')}": value for key, value in annotations.items()}
    patch = json.dumps({"metadata": {"annotations": found}})
    cluster.kubectl("patch", SOURCE, "app", "-n", namespace, "--type=merge", "-p", patch)


def sync(cluster: controlplane.ControlPlane, namespace: str, value: str) -> dict[str, Any]:
    helpers.set_manual_trigger(cluster, SOURCE, "app", namespace, value)
    return helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, value, timeout=180)


@pytest.mark.usefixtures("operator")
def test_a_dump_made_by_the_before_hook_restores_whole_while_the_app_keeps_writing(
    cluster: controlplane.ControlPlane,
    namespace: str,
    repository_root: pathlib.Path,
    receiver: Receiver,
    tmp_path: pathlib.Path,
) -> None:
    helpers.prepare_app(cluster, namespace)
    start_writer(cluster, namespace)
    apply(
        cluster,
        hooked_source(
            before_backup_command=DUMP,
            after_backup_url=f"http://{receiver.address}/resume",
        ),
        namespace=namespace,
    )
    status = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "first", timeout=180)

    assert status["lastSyncResult"]["outcome"] == "succeeded", status
    before, after = status["hooks"]["beforeBackup"], status["hooks"]["afterBackup"]
    assert before["result"] == "Succeeded", before
    assert before["message"] == "ran in pod db, container db"
    assert after["result"] == "Succeeded", after
    assert receiver.documents == [
        {"source": "app", "namespace": namespace, "moment": "after-backup", "backupSucceeded": True}
    ]
    assert receiver.requests[0][0] == "/resume"

    snapshot = status["lastSyncResult"]["snapshotID"]
    repository = repository_root / namespace / "app"
    helpers.restic(repository, "restore", snapshot, "--target", str(tmp_path))
    restored = sqlite3.connect(tmp_path / "app-backup.db")
    assert restored.execute("pragma integrity_check").fetchall() == [("ok",)]
    (rows,) = restored.execute("select count(*) from orders").fetchone()
    assert rows > 0
    pod = get(cluster, "pod", "db", namespace=namespace) or {}
    assert pod["status"]["phase"] == "Running"  # the app was never stopped
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0


def test_a_failed_hook_stops_or_warns_and_a_gone_pod_skips_the_hook(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: Operator,
    repository_root: pathlib.Path,
    receiver: Receiver,
) -> None:
    helpers.prepare_app(cluster, namespace)
    start_writer(cluster, namespace)
    apply(
        cluster,
        hooked_source(
            before_backup_command='["pg_dumpall", "-f", "/data/all.sql"]',
            after_backup_image=helpers.BUSYBOX,
            after_backup_command=f"echo {RESUMED}: $PYVOLSYNC_BACKUP_SUCCEEDED",
        ),
        namespace=namespace,
    )
    failed = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "first", timeout=180)

    assert "lastSyncTime" not in failed, failed
    reason = helpers.condition(cluster, SOURCE, "app", namespace)["reason"]
    assert reason == "HookFailed"
    message = failed["lastSyncResult"]["message"]
    assert message.startswith("the before-backup hook (exec) failed, so no backup was taken"), (
        message
    )
    assert "pg_dumpall" in message
    assert not (repository_root / namespace / "app" / "config").exists()  # nothing was copied
    after = failed["hooks"]["afterBackup"]
    assert after["result"] == "Succeeded", after
    assert after["message"].endswith(f"{RESUMED}: false")
    assert get(cluster, "job", "volsync-hook-app", namespace=namespace) is None

    annotate(
        cluster,
        namespace,
        before_backup_command=None,
        before_backup_url=f"http://{receiver.address}/freeze",
        before_backup_on_error="continue",
    )
    receiver.failures = 1
    warned = sync(cluster, namespace, "second")
    assert warned["lastSyncResult"]["outcome"] == "succeeded", warned
    assert warned["hooks"]["beforeBackup"]["message"].endswith("answered 500: {}")
    notes = helpers.event_reasons(cluster, namespace, "app")
    assert any(
        reason == "HookFailed" and "/freeze answered 500" in note for _, reason, note in notes
    )
    assert hook_failed(operator, namespace) == "1.0"

    annotate(
        cluster,
        namespace,
        before_backup_url=None,
        before_backup_on_error=None,
        before_backup_command=DUMP,
    )
    cluster.kubectl("delete", "pod", "db", "-n", namespace, "--wait=true")
    skipped = sync(cluster, namespace, "third")
    assert skipped["lastSyncResult"]["outcome"] == "succeeded", skipped
    assert skipped["hooks"]["beforeBackup"]["result"] == "Skipped"
    assert "no running pod mounts PVC data" in skipped["hooks"]["beforeBackup"]["message"]
    wait_until(lambda: hook_failed(operator, namespace) == "0.0", what="the hook alert to clear")


def hook_failed(operator: Operator, namespace: str) -> str:
    """Return the value of the source's ``pyvolsync_hook_failed`` ("" when not served)."""
    for line in operator.metrics().splitlines():
        if line.startswith("pyvolsync_hook_failed{") and f'obj_namespace="{namespace}"' in line:
            return line.rsplit(" ", 1)[1]
    return ""
