"""App hooks against the in-memory cluster: the order of hook, Job and status, and the failures.

The hooks here are played by the test (``Started``): what matters is when the operator starts
each one, what it waits for and what it records. The hooks really run (exec in an app's pod, a
Job, a URL) on the local control plane in tests/integration/reconcile/test_hooks.py.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from tests.unit.controller.test_reconciler_fake_cluster import (
    BACKED_UP,
    NAMESPACE,
    Cluster,
    replication_source,
)

from pyvolsync import contract
from pyvolsync.controller import hooking, reconciler
from pyvolsync.kube.client import Kind
from pyvolsync.movers import hooks
from pyvolsync.movers.hooksettings import Hook, Moment

FAILED = contract.MoverResult(
    outcome=contract.Outcome.FAILED,
    error_kind=contract.ErrorKind.RESTIC_FAILED,
    message="repository unreachable",
)


@dataclasses.dataclass
class Started:
    """One hook the operator started; the test says when and how it ends."""

    hook: Hook
    target: hooks.Target
    outcome: hooks.Outcome | None = None

    def done(self) -> bool:
        return self.outcome is not None

    def cancelled(self) -> bool:
        return False

    def exception(self) -> BaseException | None:
        return None

    def result(self) -> hooks.Outcome:
        assert self.outcome is not None
        return self.outcome

    def cancel(self) -> bool:
        return True


class HookedCluster(Cluster):
    """The fake cluster whose reconciler's hooks are recorded instead of run."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[Started] = []
        self.reconciler.hooks = hooking.Hooks(self.start)

    def start(self, hook: Hook, target: hooks.Target) -> Started:
        self.started.append(Started(hook, target))
        return self.started[-1]

    def end_hook(self, result: hooks.Result, message: str = "ok") -> None:
        assert self.started and self.started[-1].outcome is None
        self.started[-1].outcome = hooks.Outcome(result=result, message=message)

    def hooks_status(self) -> dict[str, Any]:
        found: dict[str, Any] = self.source()["status"].get("hooks", {})
        return found


def hooked_source(**annotations: str) -> dict[str, Any]:
    source = replication_source()
    source["metadata"]["annotations"] = {
        f"pyvolsync.dev/{key.replace('_', '-')}": value for key, value in annotations.items()
    }
    return source


def reasons(cluster: Cluster) -> list[tuple[str, str]]:
    return [(event["type"], event["reason"]) for event in cluster.kube.events]


def test_the_before_hook_runs_first_and_the_job_only_after_it_succeeded() -> None:
    cluster = HookedCluster()
    cluster.kube.put(hooked_source(before_backup_command="sqlite3 /data/app.db .dump"))

    cluster.reconcile()
    assert cluster.job() is None
    assert [started.hook.moment for started in cluster.started] == [Moment.BEFORE]
    assert cluster.started[0].target.claim == "data"
    assert cluster.condition() == ("SyncInProgress", "running the before-backup hook (exec)")
    assert set(cluster.hooks_status()["beforeBackup"]) == {"startTime"}

    cluster.reconcile()  # still running: not started twice, no Job
    assert len(cluster.started) == 1 and cluster.job() is None

    cluster.now += datetime.timedelta(seconds=5)
    cluster.end_hook(hooks.Result.SUCCEEDED, "ran in pod app-0, container app")
    cluster.reconcile()
    assert cluster.job() is not None
    record = cluster.hooks_status()["beforeBackup"]
    assert record["result"] == "Succeeded"
    assert record["message"] == "ran in pod app-0, container app"
    assert record["endTime"] == "2026-12-03T09:00:05Z"

    cluster.finish_job(BACKED_UP)
    cluster.reconcile()
    assert cluster.source()["status"]["lastSyncTime"]
    assert len(cluster.started) == 1
    assert hook_failed(cluster) == 0


def test_a_failed_before_hook_takes_no_backup_but_the_after_hook_still_runs() -> None:
    cluster = HookedCluster()
    cluster.kube.put(
        hooked_source(
            before_backup_command="pg_dump -f /data/dump.sql", after_backup_url="http://x/resume"
        )
    )
    cluster.reconcile()
    cluster.end_hook(hooks.Result.FAILED, "exit code 1 in pod db-0, container db: no such table")
    cluster.reconcile()

    assert cluster.job() is None
    assert [started.hook.moment for started in cluster.started] == [Moment.BEFORE, Moment.AFTER]
    assert cluster.started[1].target.backup_succeeded is False
    assert cluster.condition() == ("SyncInProgress", "running the after-backup hook (url)")

    cluster.end_hook(hooks.Result.SUCCEEDED, "http://x/resume answered 200")
    cluster.reconcile()
    status = cluster.source()["status"]
    assert "lastSyncStartTime" not in status and "lastSyncTime" not in status
    assert status["lastSyncResult"]["message"].startswith(
        "the before-backup hook (exec) failed, so no backup was taken: exit code 1"
    )
    assert cluster.condition()[0] == "HookFailed"
    assert status["hooks"]["afterBackup"]["result"] == "Succeeded"
    assert reasons(cluster).count(("Warning", "HookFailed")) == 1


def test_a_failed_before_hook_set_to_continue_warns_and_backs_up() -> None:
    cluster = HookedCluster()
    cluster.kube.put(
        hooked_source(before_backup_command="/bin/freeze", before_backup_on_error="continue")
    )
    cluster.reconcile()
    cluster.end_hook(hooks.Result.FAILED, "did not finish within 0:02:00; it was stopped")
    cluster.reconcile()

    assert cluster.job() is not None
    assert ("Warning", "HookFailed") in reasons(cluster)
    assert cluster.hooks_status()["beforeBackup"]["result"] == "Failed"


def test_the_after_hook_runs_when_the_backup_ended_and_the_sync_ends_after_it() -> None:
    cluster = HookedCluster()
    cluster.kube.put(hooked_source(after_backup_command="touch /data/unpaused"))
    cluster.reconcile()
    assert cluster.started == [] and cluster.job() is not None

    cluster.finish_job(FAILED)
    cluster.reconcile()
    assert [started.hook.moment for started in cluster.started] == [Moment.AFTER]
    assert cluster.started[0].target.backup_succeeded is False
    assert cluster.job() is not None  # kept until the hook ended
    assert "lastFailureTime" not in cluster.source()["status"]

    cluster.end_hook(hooks.Result.FAILED, "exit code 2 in pod app-0, container app")
    cluster.reconcile()
    status = cluster.source()["status"]
    assert status["lastFailureTime"] and cluster.job() is None
    assert status["hooks"]["afterBackup"]["result"] == "Failed"
    assert ("Warning", "HookFailed") in reasons(cluster)
    assert hook_failed(cluster) == 1


def hook_failed(cluster: Cluster) -> float | None:
    labels = {"obj_name": "app", "obj_namespace": NAMESPACE, "role": "source", "method": "restic"}
    registry = cluster.reconciler.metrics.registry
    return registry.get_sample_value("pyvolsync_hook_failed", labels)


def test_a_skipped_hook_is_a_normal_event_and_the_backup_goes_on() -> None:
    cluster = HookedCluster()
    cluster.kube.put(hooked_source(before_backup_command="sqlite3 /data/app.db .dump"))
    cluster.reconcile()
    cluster.end_hook(hooks.Result.SKIPPED, "no running pod mounts PVC data in namespace apps")
    cluster.reconcile()
    assert cluster.job() is not None
    assert ("Normal", "HookSkipped") in reasons(cluster)


def test_a_restarted_operator_runs_a_hook_cut_short_again() -> None:
    cluster = HookedCluster()
    cluster.kube.put(hooked_source(before_backup_command="sqlite3 /data/app.db .dump"))
    cluster.reconcile()
    cluster.reconciler = reconciler.Reconciler(
        cluster.kube,
        settings=cluster.reconciler.settings,
        metrics=cluster.reconciler.metrics,
        wake=lambda *_: None,
        clock=lambda: cluster.now,
    )
    cluster.reconciler.hooks = hooking.Hooks(cluster.start)
    cluster.now += datetime.timedelta(minutes=1)

    cluster.reconcile()
    assert len(cluster.started) == 2 and cluster.job() is None
    assert cluster.hooks_status()["beforeBackup"]["startTime"] == "2026-12-03T09:01:00Z"


def test_a_malformed_hook_is_reported_once_per_sync_and_the_backup_runs_without_it() -> None:
    cluster = HookedCluster()
    cluster.kube.put(hooked_source(before_backup_command="true", before_backup_timeout="soon"))
    cluster.reconcile()
    cluster.reconcile()
    assert cluster.job() is not None and cluster.started == []
    misconfigured = [
        event for event in cluster.kube.events if event["reason"] == "HookMisconfigured"
    ]
    assert len(misconfigured) == 1
    assert "pyvolsync.dev/before-backup-timeout" in misconfigured[0]["note"]


def test_hooks_added_while_a_job_runs_wait_for_the_next_sync() -> None:
    cluster = HookedCluster()
    cluster.kube.put(replication_source())
    cluster.reconcile()
    assert cluster.job() is not None
    source = cluster.source()
    source["metadata"]["annotations"] = {"pyvolsync.dev/before-backup-command": "true"}
    cluster.kube.put(source)
    cluster.reconcile()
    assert cluster.started == []
    assert cluster.kube.stored(Kind.JOB, "volsync-src-app", NAMESPACE) is not None
