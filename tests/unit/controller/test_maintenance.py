"""KopiaMaintenance on the in-memory cluster: one owner per repository, on its schedule.

The test plays the Job controller (marks the maintenance Job finished with the mover's result);
what is checked is what a user sees: the Job and its identity, status, condition and events.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
from typing import Any

from pyvolsync import contract
from pyvolsync.controller import maintenance
from pyvolsync.kube import fake
from pyvolsync.kube.client import Kind
from pyvolsync.movers import jobs

NOW = datetime.datetime(2026, 12, 3, 9, 0, tzinfo=datetime.UTC)
IMAGE = "example/pyvolsync-mover:1"
REPOSITORY = "s3://backups/cluster"


def secret(namespace: str, repository: str = REPOSITORY) -> dict[str, Any]:
    encoded = base64.b64encode(repository.encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "kopia-repo", "namespace": namespace},
        "data": {"KOPIA_REPOSITORY": encoded, "KOPIA_PASSWORD": "c2VjcmV0"},
    }


def maintenance_object(namespace: str, name: str = "nightly", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "KopiaMaintenance",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"repository": {"repository": "kopia-repo"}, **spec},
    }


class Cluster:
    def __init__(self) -> None:
        self.now = NOW
        self.kube = fake.FakeKube(clock=lambda: self.now)
        self.reconciler = maintenance.MaintenanceReconciler(
            self.kube, settings=jobs.JobSettings(image=IMAGE), clock=lambda: self.now
        )

    def reconcile(self, namespace: str = "apps", name: str = "nightly") -> float | None:
        return asyncio.run(self.reconciler.reconcile(namespace, name))

    def status(self, namespace: str = "apps", name: str = "nightly") -> dict[str, Any]:
        found = self.kube.stored(Kind.KOPIA_MAINTENANCE, name, namespace)
        assert found is not None
        return dict(found.get("status") or {})

    def reason(self, namespace: str = "apps", name: str = "nightly") -> tuple[str, str]:
        [condition] = self.status(namespace, name)["conditions"]
        return condition["reason"], condition["message"]

    def job(self, namespace: str = "apps", name: str = "nightly") -> dict[str, Any] | None:
        return self.kube.stored(Kind.JOB, f"volsync-maintenance-{name}", namespace)

    def finish(self, result: contract.MoverResult, namespace: str = "apps") -> None:
        job = self.job(namespace)
        assert job is not None
        self.kube.finish_job(job, result)


def test_a_scheduled_maintenance_waits_for_its_time() -> None:
    cluster = Cluster()
    cluster.kube.put(secret("apps"))
    cluster.kube.put(maintenance_object("apps"))

    wake = cluster.reconcile()

    assert cluster.job() is None
    assert cluster.status()["nextScheduledMaintenance"] == "2026-12-04T02:00:00Z"
    assert cluster.reason()[0] == "Scheduled"
    assert wake is not None and 16 * 3600 < wake <= 17 * 3600


def test_a_manual_run_maintains_as_its_own_identity_and_records_the_time() -> None:
    cluster = Cluster()
    cluster.kube.put(secret("apps"))
    cluster.kube.put(maintenance_object("apps", trigger={"manual": "now"}))

    cluster.reconcile()
    job = cluster.job()
    assert job is not None
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert (container["command"], container["args"]) == (
        ["pyvolsync-mover", "kopia"],
        ["maintenance"],
    )
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["KOPIA_OVERRIDE_MAINTENANCE_USERNAME"] == "maintenance-nightly"
    assert env["KOPIA_OVERRIDE_MAINTENANCE_HOSTNAME"] == "apps"
    assert env["KOPIA_MAINTENANCE_TAKEOVER"] == "false"

    cluster.now += datetime.timedelta(minutes=3)
    done = contract.MoverResult(outcome=contract.Outcome.SUCCEEDED)
    cluster.finish(done)
    cluster.reconcile()

    status = cluster.status()
    assert status["lastManualSync"] == "now"
    assert status["lastMaintenanceTime"] == "2026-12-03T09:03:00Z"
    assert cluster.job() is None
    assert [event["reason"] for event in cluster.kube.events] == ["MaintenanceCompleted"]

    cluster.reconcile()  # the trigger is used up: nothing runs again
    assert cluster.job() is None


def test_a_second_object_on_the_same_repository_runs_nothing_and_names_the_owner() -> None:
    cluster = Cluster()
    cluster.kube.put(secret("apps"))
    cluster.kube.put(maintenance_object("apps", trigger={"manual": "now"}))
    cluster.now += datetime.timedelta(seconds=5)
    cluster.kube.put(secret("other", repository=REPOSITORY + "/"))
    cluster.kube.put(maintenance_object("other", "mine-too", trigger={"manual": "now"}))

    cluster.reconcile("other", "mine-too")
    cluster.reconcile()

    assert cluster.job("other", "mine-too") is None
    reason, message = cluster.reason("other", "mine-too")
    assert reason == "MaintainedByAnotherObject"
    assert "apps/nightly" in message and REPOSITORY not in message
    assert cluster.job() is not None  # the older one maintains


def test_a_repository_owned_by_someone_else_says_how_to_take_it_over() -> None:
    cluster = Cluster()
    cluster.kube.put(secret("apps"))
    cluster.kube.put(maintenance_object("apps", trigger={"manual": "now"}))
    cluster.reconcile()
    refused = contract.MoverResult(
        outcome=contract.Outcome.FAILED,
        error_kind=contract.ErrorKind.MAINTENANCE_NOT_OWNER,
        message="maintenance is owned by app@apps",
    )
    cluster.finish(refused)

    cluster.reconcile()

    reason, message = cluster.reason()
    assert reason == "MaintenanceFailed"
    assert 'pyvolsync.dev/take-over-maintenance="true"' in message
    assert cluster.status()["maintenanceFailures"] == 1
    assert "lastMaintenanceTime" not in cluster.status()

    annotated = maintenance_object("apps", trigger={"manual": "again"})
    annotated["metadata"]["annotations"] = {"pyvolsync.dev/take-over-maintenance": "true"}
    stored = cluster.kube.stored(Kind.KOPIA_MAINTENANCE, "nightly", "apps")
    assert stored is not None
    stored["metadata"]["annotations"] = annotated["metadata"]["annotations"]
    stored["spec"]["trigger"] = {"manual": "again"}
    cluster.reconcile()
    env = job_env(cluster.job())
    assert env["KOPIA_MAINTENANCE_TAKEOVER"] == "true"


def test_a_missing_secret_key_is_an_error_naming_it() -> None:
    cluster = Cluster()
    incomplete = secret("apps")
    del incomplete["data"]["KOPIA_PASSWORD"]
    cluster.kube.put(incomplete)
    cluster.kube.put(maintenance_object("apps", trigger={"manual": "now"}))

    cluster.reconcile()

    assert cluster.job() is None
    reason, message = cluster.reason()
    assert reason == "Error" and "has no key KOPIA_PASSWORD" in message


def job_env(job: dict[str, Any] | None) -> dict[str, Any]:
    """The plain environment of the maintenance Job's container."""
    assert job is not None
    container = job["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value") for item in container["env"]}


def kopia_source(namespace: str, name: str, secret_name: str, **kopia: Any) -> dict[str, Any]:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"sourcePVC": "data", "kopia": {"repository": secret_name, **kopia}},
    }


def test_the_job_may_take_over_from_the_sources_writing_the_same_repository_only() -> None:
    cluster = Cluster()
    cluster.kube.put(secret("apps"))
    cluster.kube.put(secret("media", repository=REPOSITORY + "/"))
    other = secret("elsewhere", repository="s3://another-bucket/")
    cluster.kube.put(other)
    cluster.kube.put(kopia_source("apps", "web", "kopia-repo"))
    cluster.kube.put(kopia_source("media", "plex", "kopia-repo", username="tv", hostname="nas"))
    cluster.kube.put(kopia_source("elsewhere", "db", "kopia-repo"))
    cluster.kube.put(maintenance_object("apps", trigger={"manual": "now"}))

    cluster.reconcile()

    env = job_env(cluster.job())
    assert env["KOPIA_MAINTENANCE_TAKEOVER_FROM"] == "tv@nas,web@apps"
    assert env["KOPIA_MAINTENANCE_TAKEOVER"] == "false"
