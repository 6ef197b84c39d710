"""The reconciler's decisions against the in-memory cluster (`pyvolsync.kube.fake`).

The test plays the Job controller and the kubelet: it marks a Job finished and adds the pod
with the mover's result document, as the real ones would. What is checked is what a user would
see: the Job and its arguments, the status, the condition and the events. The same behaviour is
proven on the real control plane by tests/integration/reconcile; these are the quick version.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest

from pyvolsync import contract
from pyvolsync.controller import metrics, reconciler
from pyvolsync.kube import errors as kube_errors
from pyvolsync.kube import fake
from pyvolsync.kube.client import Kind
from pyvolsync.movers import jobs
from pyvolsync.planning import names

NAMESPACE = "apps"
NOW = datetime.datetime(2026, 12, 3, 9, 0, tzinfo=datetime.UTC)
SOURCE = names.Role.SOURCE
IMAGE = "example/pyvolsync-mover:1"


class Cluster:
    """A fake cluster with an app's volume and repository Secret, and a reconciler on it."""

    def __init__(self, *, max_movers: int = 0, created: datetime.datetime = NOW) -> None:
        self.now = created
        self.kube = fake.FakeKube(clock=lambda: self.now)
        self.kube.put(claim("data"))
        self.kube.put(secret("repo", "RESTIC_REPOSITORY", "RESTIC_PASSWORD"))
        settings = reconciler.Settings(job=jobs.JobSettings(image=IMAGE), max_movers=max_movers)
        self.reconciler = reconciler.Reconciler(
            self.kube,
            settings=settings,
            metrics=metrics.Metrics(),
            wake=lambda *_: None,
            clock=lambda: self.now,
        )

    def reconcile(self, name: str = "app") -> float | None:
        return asyncio.run(self.reconciler.reconcile(SOURCE, NAMESPACE, name))

    def source(self, name: str = "app") -> dict[str, Any]:
        found = self.kube.stored(Kind.REPLICATION_SOURCE, name, NAMESPACE)
        assert found is not None
        return found

    def condition(self, name: str = "app") -> tuple[str, str]:
        conditions = self.source(name)["status"]["conditions"]
        synchronizing = [item for item in conditions if item["type"] == "Synchronizing"]
        return synchronizing[0]["reason"], synchronizing[0]["message"]

    def job(self, name: str = "app") -> dict[str, Any] | None:
        return self.kube.stored(Kind.JOB, f"volsync-src-{name}", NAMESPACE)

    def finish_job(
        self,
        result: contract.MoverResult,
        *,
        log: str = "",
        name: str = "app",
        completed: str | None = None,
    ) -> None:
        """Play the Job controller and kubelet: the mover's pod ended with ``result``."""
        job = self.job(name)
        assert job is not None
        self.kube.finish_job(job, result, completed=completed, log=log)


def claim(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"]},
    }


def secret(name: str, *keys: str) -> dict[str, Any]:
    data = dict.fromkeys(keys, "c2VjcmV0")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "data": data,
    }


def replication_source(name: str = "app", **restic: Any) -> dict[str, Any]:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "sourcePVC": "data",
            "trigger": {"manual": "first"},
            "restic": {"repository": "repo", "copyMethod": "Direct", **restic},
        },
    }


BACKED_UP = contract.MoverResult(
    outcome=contract.Outcome.SUCCEEDED,
    snapshot_id="a1b2c3d4e5f6",
    bytes_added=2048,
    operations=(
        contract.OperationResult(
            operation=contract.Operation.BACKUP, outcome=contract.Outcome.SUCCEEDED
        ),
    ),
)


def test_a_manual_backup_runs_one_job_and_records_its_snapshot() -> None:
    cluster = Cluster()
    cluster.kube.put(replication_source())

    cluster.reconcile()
    job = cluster.job()
    assert job is not None
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert (container["command"], container["args"]) == (["pyvolsync-mover", "restic"], ["backup"])
    assert cluster.condition()[0] == "SyncInProgress"

    cluster.reconcile()  # still running: nothing new
    assert len(cluster.kube.all_of(Kind.JOB, NAMESPACE)) == 1

    cluster.now += datetime.timedelta(seconds=30)
    cluster.finish_job(BACKED_UP, log="processed 3 files\nsnapshot a1b2c3d4 saved\n")
    cluster.reconcile()

    status = cluster.source()["status"]
    assert status["lastSyncResult"]["snapshotID"] == "a1b2c3d4e5f6"
    assert status["lastManualSync"] == "first"
    assert status["lastSyncDuration"] == "30s"
    [record] = status["recentSyncs"]
    assert record == {"time": status["lastSyncTime"], "result": "Successful",
                      "durationSeconds": 30.0, "bytesAdded": 2048, "bytesProcessed": 0}  # fmt: skip
    assert "lastSyncStartTime" not in status
    assert cluster.job() is None  # cleaned up
    reasons = [(event["type"], event["reason"]) for event in cluster.kube.events]
    assert ("Normal", "TransferCompleted") in reasons
    assert cluster.condition()[0] == "WaitingForManual"


def test_maintenance_due_goes_into_the_job_that_is_created() -> None:
    cluster = Cluster(created=NOW - datetime.timedelta(days=8))
    cluster.kube.put(replication_source())
    cluster.now = NOW

    cluster.reconcile()

    job = cluster.job()
    assert job is not None
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["backup", "prune", "check"]


def test_the_mover_limit_makes_the_second_source_wait_for_a_slot() -> None:
    cluster = Cluster(max_movers=1)
    cluster.kube.put(replication_source("first"))
    cluster.kube.put(replication_source("second"))

    cluster.reconcile("first")
    cluster.reconcile("second")

    assert cluster.job("first") is not None
    assert cluster.job("second") is None
    reason, message = cluster.condition("second")
    assert reason == "WaitingForMoverSlot"
    assert "1 of 1 used" in message

    cluster.finish_job(BACKED_UP, name="first")
    cluster.reconcile("first")
    cluster.reconcile("second")
    assert cluster.job("second") is not None


def test_a_failed_manual_sync_is_named_and_waits_for_a_new_trigger_value() -> None:
    cluster = Cluster()
    cluster.kube.put(replication_source())
    cluster.reconcile()
    wrong = contract.MoverResult(
        outcome=contract.Outcome.FAILED,
        error_kind=contract.ErrorKind.WRONG_PASSWORD,
        message="the repository password is wrong; fix RESTIC_PASSWORD",
    )
    cluster.finish_job(wrong)

    wake_in = cluster.reconcile()

    status = cluster.source()["status"]
    assert status["lastSyncResult"]["errorKind"] == "wrong-password"
    assert status["consecutiveFailures"] == 1
    assert [record["result"] for record in status["recentSyncs"]] == ["Failed"]
    assert "bytesAdded" not in status["recentSyncs"][0]
    assert cluster.condition()[0] == "WrongPassword"
    notes = [event["note"] for event in cluster.kube.events if event["reason"] == "TransferFailed"]
    assert notes == ["synchronization failed (wrong-password): " + wrong.message]
    assert status["lastManualSync"] == "first"  # consumed, as upstream: no retry loop
    assert wake_in is None
    assert cluster.job() is None


@pytest.mark.parametrize(
    ("keys", "missing"),
    [(("RESTIC_PASSWORD",), "RESTIC_REPOSITORY"), (("RESTIC_REPOSITORY",), "RESTIC_PASSWORD")],
)
def test_a_secret_without_a_required_key_stops_before_any_job(
    keys: tuple[str, ...], missing: str
) -> None:
    cluster = Cluster()
    cluster.kube.put(secret("repo", *keys))
    cluster.kube.put(replication_source())

    cluster.reconcile()
    cluster.reconcile()

    assert cluster.job() is None
    reason, message = cluster.condition()
    assert reason == "Error"
    assert f"has no key {missing}" in message
    errors = [event for event in cluster.kube.events if event["reason"] == "ConfigurationError"]
    assert len(errors) == 1


class StartingApiServer(fake.FakeKube):
    """An API server that answers 503 to the first ``failures`` lists (still coming up)."""

    def __init__(self, failures: int) -> None:
        super().__init__(clock=lambda: NOW)
        self.failures = failures

    async def list(self, kind: Kind, **options: Any) -> list[dict[str, Any]]:
        if self.failures:
            self.failures -= 1
            raise kube_errors.ApiFailureError("the server is currently unable", code=503)
        return await super().list(kind, **options)


def test_syncs_in_progress_are_adopted_once_the_api_server_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reconciler, "ADOPT_RETRY_SECONDS", 0.001)
    kube = StartingApiServer(failures=3)
    running = replication_source()
    running["status"] = {"lastSyncStartTime": "2026-12-03T08:59:00Z"}
    kube.put(running)
    settings = reconciler.Settings(job=jobs.JobSettings(image=IMAGE), max_movers=1)
    adopting = reconciler.Reconciler(
        kube, settings=settings, metrics=metrics.Metrics(), wake=lambda *_: None
    )

    asyncio.run(adopting.adopt_running())

    assert kube.failures == 0
    assert not adopting.slots.try_acquire(f"{NAMESPACE}/other")  # the adopted sync holds it


def test_a_refusal_at_start_up_is_not_retried() -> None:
    kube = StartingApiServer(failures=0)
    calls: list[Kind] = []

    async def forbidden(kind: Kind, **options: Any) -> list[dict[str, Any]]:
        calls.append(kind)
        raise kube_errors.ApiFailureError("replicationsources is forbidden", code=403)

    kube.list = forbidden  # type: ignore[method-assign]
    settings = reconciler.Settings(job=jobs.JobSettings(image=IMAGE))
    adopting = reconciler.Reconciler(
        kube, settings=settings, metrics=metrics.Metrics(), wake=lambda *_: None
    )
    with pytest.raises(kube_errors.ApiFailureError, match="forbidden"):
        asyncio.run(adopting.adopt_running())
    assert calls == [Kind.REPLICATION_SOURCE]


def test_a_sync_that_ended_while_no_operator_ran_is_dated_by_its_job() -> None:
    cluster = Cluster()
    cluster.kube.put(replication_source())
    cluster.reconcile()
    cluster.finish_job(BACKED_UP, completed="2026-12-03T09:00:02Z")
    cluster.now += datetime.timedelta(minutes=10)  # the operator was down meanwhile

    cluster.reconcile()

    status = cluster.source()["status"]
    assert status["lastSyncTime"] == "2026-12-03T09:00:02Z"
    assert status["lastSyncDuration"] == "2s"


def kopia_source(name: str = "app", **kopia: Any) -> dict[str, Any]:
    manifest = replication_source(name)
    manifest["spec"]["kopia"] = {"repository": "kopia-repo", "copyMethod": "Direct", **kopia}
    del manifest["spec"]["restic"]
    return manifest


def container_of(job: dict[str, Any] | None) -> dict[str, Any]:
    assert job is not None
    container: dict[str, Any] = job["spec"]["template"]["spec"]["containers"][0]
    return container


def plain_env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container["env"] if "value" in item}


def test_a_kopia_source_runs_the_kopia_mover_under_the_fork_s_identity() -> None:
    cluster = Cluster()
    cluster.kube.put(secret("kopia-repo", "KOPIA_REPOSITORY", "KOPIA_PASSWORD", "AWS_REGION"))
    cluster.kube.put(
        kopia_source("my.app", compression="zstd", retain={"hourly": 24, "daily": 7, "latest": 3})
    )

    cluster.reconcile("my.app")

    container = container_of(cluster.job("my.app"))
    assert (container["name"], container["command"], container["args"]) == (
        "kopia",
        ["pyvolsync-mover", "kopia"],
        ["backup"],
    )
    env = plain_env(container)
    assert (env["KOPIA_OVERRIDE_USERNAME"], env["KOPIA_OVERRIDE_HOSTNAME"]) == ("myapp", NAMESPACE)
    assert env["KOPIA_COMPRESSION"] == "zstd"
    assert (env["KOPIA_RETAIN_HOURLY"], env["KOPIA_RETAIN_DAILY"]) == ("24", "7")
    assert env["KOPIA_RETAIN_LATEST"] == "3"
    from_secret = {item["name"] for item in container["env"] if "valueFrom" in item}
    assert from_secret == {"KOPIA_REPOSITORY", "KOPIA_PASSWORD", "AWS_REGION"}


def test_a_kopia_source_whose_secret_lacks_the_password_says_which_key() -> None:
    cluster = Cluster()
    cluster.kube.put(secret("kopia-repo", "KOPIA_REPOSITORY"))
    cluster.kube.put(kopia_source())

    cluster.reconcile()

    assert cluster.job() is None
    reason, message = cluster.condition()
    assert reason == "Error"
    assert "has no key KOPIA_PASSWORD" in message


def test_restic_and_kopia_in_one_source_is_refused_before_any_job() -> None:
    cluster = Cluster()
    both = kopia_source()
    both["spec"]["restic"] = {"repository": "repo", "copyMethod": "Direct"}
    cluster.kube.put(both)

    cluster.reconcile()

    assert cluster.job() is None
    reason, message = cluster.condition()
    assert reason == "Error"
    assert "restic" in message and "kopia" in message


def kopia_destination(**kopia: Any) -> dict[str, Any]:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationDestination",
        "metadata": {"name": "restore", "namespace": NAMESPACE},
        "spec": {
            "trigger": {"manual": "once"},
            "kopia": {"copyMethod": "Direct", "destinationPVC": "data", **kopia},
        },
    }


def reconcile_destination(cluster: Cluster) -> dict[str, Any] | None:
    asyncio.run(cluster.reconciler.reconcile(names.Role.DESTINATION, NAMESPACE, "restore"))
    return cluster.kube.stored(Kind.JOB, "volsync-dst-restore", NAMESPACE)


def test_a_kopia_destination_naming_only_its_source_uses_the_sources_repository_and_path() -> None:
    cluster = Cluster()
    cluster.kube.put(secret("kopia-repo", "KOPIA_REPOSITORY", "KOPIA_PASSWORD"))
    cluster.kube.put(kopia_source("web", sourcePathOverride="/srv/web"))
    cluster.kube.put(kopia_destination(sourceIdentity={"sourceName": "web"}))

    container = container_of(reconcile_destination(cluster))

    references = {
        item["valueFrom"]["secretKeyRef"]["name"]
        for item in container["env"]
        if "valueFrom" in item
    }
    assert references == {"kopia-repo"}, "the source's repository Secret, as the fork does"
    env = plain_env(container)
    assert (env["KOPIA_OVERRIDE_USERNAME"], env["KOPIA_OVERRIDE_HOSTNAME"]) == ("web", NAMESPACE)
    assert env["KOPIA_SOURCE_PATH_OVERRIDE"] == "/srv/web"


def test_a_kopia_destination_whose_source_does_not_exist_says_so_and_starts_nothing() -> None:
    cluster = Cluster()
    cluster.kube.put(kopia_destination(sourceIdentity={"sourceName": "gone"}))

    assert reconcile_destination(cluster) is None
    stored = cluster.kube.stored(Kind.REPLICATION_DESTINATION, "restore", NAMESPACE)
    assert stored is not None
    messages = [item["message"] for item in stored["status"]["conditions"]]
    assert any(
        f"names ReplicationSource {NAMESPACE}/gone, which does not exist" in message
        for message in messages
    ), messages


def test_the_sync_history_keeps_the_latest_day_of_hourly_syncs() -> None:
    history = None
    for hour in range(30):
        ended = NOW + datetime.timedelta(hours=hour)
        history = reconciler.recent_syncs(
            history, BACKED_UP, succeeded=True, backup=True,
            started=ended - datetime.timedelta(seconds=hour), ended=ended,
        )  # fmt: skip
    assert history is not None and len(history) == reconciler.HISTORY_LIMIT
    assert history[0].time == NOW + datetime.timedelta(hours=6)
    assert history[-1].duration_seconds == 29.0
