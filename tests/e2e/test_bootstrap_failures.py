"""A bootstrap never hands an app an empty volume when a backup may exist.

With a wrong password, an unreachable repository or an invalid restoreAsOf, the app's PVC stays
Pending and a Warning event on it says why, in the destination's own words.
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import subprocess
import time

import pytest
from localcluster import controlplane
from localcluster.testing import apply, wait_until
from tests.e2e import story

APP = "wiki"


def restic_init(repository: pathlib.Path, password: str) -> None:
    """Create a repository owned by the app's user, as its first backup would have."""
    repository.parent.mkdir(parents=True, exist_ok=True)
    repository.parent.chmod(0o777)  # as the node agent creates an NFS export
    subprocess.run(
        ["restic", "init", "--repo", str(repository)],
        check=True,
        capture_output=True,
        env={"RESTIC_PASSWORD": password, "PATH": os.environ["PATH"]},
    )
    subprocess.run(["chown", "-R", f"{story.APP_UID}:{story.APP_UID}", str(repository)], check=True)


def kopia_create(repository: pathlib.Path, password: str, scratch: pathlib.Path) -> None:
    """Create a kopia repository owned by the app's user, as its first backup would have."""
    repository.mkdir(parents=True)
    repository.parent.chmod(0o777)
    subprocess.run(
        ["kopia", "repository", "create", "filesystem", f"--path={repository}",
         f"--config-file={scratch / 'kopia.config'}", f"--cache-directory={scratch / 'cache'}",
         "--no-persist-credentials"],
        check=True, capture_output=True,
        env={"KOPIA_PASSWORD": password, "KOPIA_CHECK_FOR_UPDATES": "false",
             "PATH": os.environ["PATH"]},
    )  # fmt: skip
    subprocess.run(["chown", "-R", f"{story.APP_UID}:{story.APP_UID}", str(repository)], check=True)


UNREACHABLE = {
    "restic": {"RESTIC_REPOSITORY": "rest:http://127.0.0.1:9/wiki"},
    "kopia": {
        "KOPIA_REPOSITORY": "s3://bucket/wiki",
        "KOPIA_S3_ENDPOINT": "127.0.0.1:9",
        "KOPIA_S3_DISABLE_TLS": "true",
        # Distinctive values: the secret scan (tests/security) looks for each one everywhere.
        "AWS_ACCESS_KEY_ID": f"unreachable-access-{secrets.token_hex(8)}",
        "AWS_SECRET_ACCESS_KEY": f"unreachable-secret-{secrets.token_hex(12)}",
    },
}
"""A repository nothing listens for (port 9, discard): each engine's form."""


def new_namespace(cluster: controlplane.ControlPlane, prefix: str) -> str:
    namespace = f"{prefix}-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", namespace)
    wait_until(
        lambda: (
            cluster.kubectl("get", "sa", "default", "-n", namespace, check=False).returncode == 0
        ),
        what="the default service account",
    )
    return namespace


def assert_pending_with_warning(
    cluster: controlplane.ControlPlane, namespace: str, expected: str
) -> None:
    """The app's PVC stays Pending, a Warning on it names `expected`, no image is published."""

    def warned() -> bool:
        return any(
            kind == "Warning" and expected in note
            for kind, _, note in story.events_about(cluster, namespace, APP)
        )

    wait_until(warned, what=f"a Warning event on the PVC naming {expected}", timeout=180)
    time.sleep(3)
    assert story.claim_phase(cluster, APP, namespace) == "Pending"
    destination = story.status(cluster, "replicationdestination", f"{APP}-bootstrap", namespace)
    assert "latestImage" not in destination, json.dumps(destination)


@pytest.mark.parametrize("engine", ["restic", "kopia"])
@pytest.mark.parametrize("failure", ["wrong-password", "unreachable"])
def test_the_pvc_waits_and_says_why(
    cluster: controlplane.ControlPlane,
    operator: object,
    *,
    repository_root: pathlib.Path,
    tmp_path: pathlib.Path,
    failure: str,
    engine: str,
) -> None:
    namespace = new_namespace(cluster, f"{engine}-{failure}")
    secret = story.repository_secret(
        APP, namespace, password="the-right-one", repository=f"/repository/{namespace}",
        engine=engine,
    )  # fmt: skip
    if failure == "wrong-password" and engine == "kopia":
        kopia_create(repository_root / namespace, "another-password", tmp_path)
    elif failure == "wrong-password":
        restic_init(repository_root / namespace, "another-password")
    else:
        secret["stringData"] = {**secret["stringData"], **UNREACHABLE[engine]}
    objects = story.render_component(APP, namespace, engine=engine)
    apply(cluster, secret, *objects, namespace=namespace)
    expected = {"wrong-password": "WrongPassword", "unreachable": "RepositoryUnreachable"}
    assert_pending_with_warning(cluster, namespace, expected[failure])
    cluster.kubectl("delete", "namespace", namespace, "--wait=false")


def test_a_restore_time_before_every_backup_never_gives_an_empty_volume(
    cluster: controlplane.ControlPlane, operator: object
) -> None:
    namespace = new_namespace(cluster, "as-of")
    password = secrets.token_hex(8)
    secret = story.repository_secret(APP, namespace, password=password)
    secret["stringData"]["RESTIC_REPOSITORY"] = f"/repository/{namespace}"
    apply(cluster, secret, *story.render_component(APP, namespace), namespace=namespace)
    wait_until(
        lambda: story.claim_phase(cluster, APP, namespace) == "Bound", what="bind", timeout=180
    )
    story.run_job(cluster, namespace, "write", claim=APP, script="echo precious > /data/file")
    assert (
        story.backup_now(cluster, APP, namespace, "one")["lastSyncResult"]["outcome"] == "succeeded"
    )
    cluster.kubectl("delete", "namespace", namespace, "--wait=true", "--timeout=180s")

    cluster.kubectl("create", "namespace", namespace)
    objects = story.render_component(APP, namespace)
    for item in objects:
        if item["kind"] == "ReplicationDestination":
            item["spec"]["restic"]["restoreAsOf"] = "2001-01-01T00:00:00Z"
    wait_until(
        lambda: (
            cluster.kubectl("get", "sa", "default", "-n", namespace, check=False).returncode == 0
        ),
        what="the default service account",
    )
    apply(cluster, secret, *objects, namespace=namespace)
    assert_pending_with_warning(cluster, namespace, "NoEligibleSnapshot")
    cluster.kubectl("delete", "namespace", namespace, "--wait=false")


def test_a_malformed_restore_time_is_refused_by_the_api_server(
    cluster: controlplane.ControlPlane, operator: object
) -> None:
    namespace = new_namespace(cluster, "malformed")
    objects = story.render_component(APP, namespace)
    for item in objects:
        if item["kind"] == "ReplicationDestination":
            item["spec"]["restic"]["restoreAsOf"] = "2026-01-01 00:00:00"
    with pytest.raises(controlplane.KubectlError, match="restoreAsOf"):
        apply(cluster, *objects, namespace=namespace)
    cluster.kubectl("delete", "namespace", namespace, "--wait=false")
