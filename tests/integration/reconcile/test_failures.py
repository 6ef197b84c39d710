"""Failures a user causes end in a condition that names them, a Warning event, and no loop.

A Secret without RESTIC_PASSWORD starts no mover and says which key is missing (and the sync goes
ahead once the key is added); a wrong password and an unreachable repository each fail the
iteration with their own condition reason and leave no Job behind; with a manual trigger the
failed iteration is over until the next trigger; a source without a trigger retries after a
backoff that doubles.
"""

from __future__ import annotations

import datetime
import os
import pathlib
import re
import time

from localcluster import controlplane
from localcluster.testing import apply, wait_until

from pyvolsync.planning import security
from reconcile import helpers

SOURCE = "replicationsource"
DESTINATION = "replicationdestination"
# Nothing listens on port 9 and sftp gives up at once (a rest: URL makes restic retry for minutes).
UNREACHABLE = "sftp://nobody@127.0.0.1:9/repository"
PASSWORD = "test-password"
QUIET_SECONDS = 10


def assert_no_job_for(plane: controlplane.ControlPlane, namespace: str, seconds: float) -> None:
    """Watch the namespace for `seconds`: no mover Job may appear."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert helpers.mover_jobs(plane, namespace) == []
        time.sleep(0.5)


def warnings_about(
    plane: controlplane.ControlPlane, namespace: str, name: str
) -> list[tuple[str, str]]:
    return [
        (reason, note)
        for type_, reason, note in helpers.event_reasons(plane, namespace, name)
        if type_ == "Warning"
    ]


def source_of_foreign_repository(
    plane: controlplane.ControlPlane,
    namespace: str,
    repository_root: pathlib.Path,
    *,
    trigger: dict[str, str],
) -> None:
    """Create source `app` whose repository was made with a password its Secret does not have."""
    repository = repository_root / namespace / "app"
    repository_root.mkdir(parents=True, exist_ok=True)
    repository_root.chmod(0o777)  # as the node agent creates an NFS export
    helpers.restic(repository, "init", password="another-password")
    # Made on the NFS server for the movers' user, who must be able to read it.
    for path in [repository.parent, repository, *repository.rglob("*")]:
        os.lchown(path, security.MOVER_USER, security.MOVER_USER)
    helpers.prepare_app(plane, namespace)
    apply(plane, helpers.replication_source("app", trigger=trigger), namespace=namespace)


def test_a_missing_secret_key_is_named_and_starts_no_mover(
    cluster: controlplane.ControlPlane, namespace: str, operator: object
) -> None:
    secret = helpers.repository_secret("repo", path=f"{namespace}/app")
    del secret["stringData"]["RESTIC_PASSWORD"]
    helpers.prepare_app(cluster, namespace, secret=secret)
    apply(
        cluster, helpers.replication_source("app", trigger={"manual": "one"}), namespace=namespace
    )

    condition = helpers.wait_for_reason(cluster, SOURCE, "app", namespace, "Error")
    assert condition["status"] == "False"
    assert "RESTIC_PASSWORD" in condition["message"] and "'repo'" in condition["message"]
    wait_until(
        lambda: any(
            "RESTIC_PASSWORD" in note for _, note in warnings_about(cluster, namespace, "app")
        ),
        what="a Warning event naming RESTIC_PASSWORD",
    )
    assert_no_job_for(cluster, namespace, 3)

    apply(cluster, helpers.repository_secret("repo", path=f"{namespace}/app"), namespace=namespace)
    # Secrets are not watched: the operator looks again within a minute, or when the source
    # changes, so touch it rather than wait.
    cluster.kubectl("annotate", SOURCE, "app", "-n", namespace, "example.com/secret-fixed=yes")
    fixed = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "one")
    assert fixed["latestMoverStatus"]["result"] == "Successful"


def test_a_wrong_password_fails_the_sync_once(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    repository_root: pathlib.Path,
) -> None:
    source_of_foreign_repository(cluster, namespace, repository_root, trigger={"manual": "one"})

    failed = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "one")
    assert failed["latestMoverStatus"]["result"] == "Failed"
    assert failed["consecutiveFailures"] == 1
    assert failed["lastSyncResult"]["errorKind"] == "wrong-password"
    assert "lastSyncTime" not in failed
    condition = helpers.condition(cluster, SOURCE, "app", namespace)
    assert (condition["status"], condition["reason"]) == ("False", "WrongPassword")
    assert "RESTIC_PASSWORD" in condition["message"]
    warnings = warnings_about(cluster, namespace, "app")
    assert any(reason == "TransferFailed" and "wrong-password" in note for reason, note in warnings)
    assert not any("retrying" in note for _, note in warnings), "a wrong password is not retried"
    wait_until(lambda: helpers.mover_jobs(cluster, namespace) == [], what="the Job to be deleted")
    assert_no_job_for(cluster, namespace, QUIET_SECONDS)
    assert helpers.status(cluster, SOURCE, "app", namespace)["consecutiveFailures"] == 1
    everything = cluster.kubectl("get", "replicationsource,events", "-n", namespace, "-o", "json")
    assert PASSWORD not in everything.stdout
    assert helpers.snapshots(repository_root / namespace / "app", password="another-password") == []


def retry_time(message: str) -> datetime.datetime:
    found = re.search(r"retrying at (\S+Z)", message)
    assert found, message
    return helpers.parse_time(found.group(1))


def test_a_failing_source_without_trigger_backs_off_doubling(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    repository_root: pathlib.Path,
) -> None:
    source_of_foreign_repository(cluster, namespace, repository_root, trigger={})

    backoff = {}
    for failures in (1, 2):
        found = wait_until(
            lambda failures=failures: (
                (current := helpers.status(cluster, SOURCE, "app", namespace)).get(
                    "consecutiveFailures"
                )
                == failures
                and current.get("lastSyncStartTime") is None
                and current
            ),
            what=f"failure {failures}",
            timeout=90,
        )
        condition = helpers.condition(cluster, SOURCE, "app", namespace)
        assert condition["reason"] == "WrongPassword"
        backoff[failures] = retry_time(condition["message"]) - helpers.parse_time(
            found["lastFailureTime"]
        )
    assert backoff == {1: datetime.timedelta(seconds=5), 2: datetime.timedelta(seconds=10)}


def test_an_unreachable_repository_is_reported_as_such(
    cluster: controlplane.ControlPlane, namespace: str, operator: object
) -> None:
    secret = helpers.repository_secret("repo", path="unused")
    secret["stringData"]["RESTIC_REPOSITORY"] = UNREACHABLE
    apply(cluster, secret, namespace=namespace)
    apply(cluster, helpers.replication_destination("restore"), namespace=namespace)

    failed = helpers.wait_for_manual_sync(
        cluster, DESTINATION, "restore", namespace, "restore-once"
    )
    assert failed["latestMoverStatus"]["result"] == "Failed"
    assert failed["lastSyncResult"]["errorKind"] == "repository-unreachable"
    assert "latestImage" not in failed
    condition = helpers.condition(cluster, DESTINATION, "restore", namespace)
    assert (condition["status"], condition["reason"]) == ("False", "RepositoryUnreachable")
    assert UNREACHABLE in condition["message"]
    warnings = warnings_about(cluster, namespace, "restore")
    assert any(
        reason == "TransferFailed" and "repository-unreachable" in note for reason, note in warnings
    )
    wait_until(lambda: helpers.mover_jobs(cluster, namespace) == [], what="the Job to be deleted")
