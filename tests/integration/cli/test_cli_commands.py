"""The `pyvolsync` commands against the local cluster and the real operator.

Each test sets up what a user would have (a volume with data, a repository Secret, a
ReplicationSource), runs the command as the user would, and checks what it printed and what it
changed in the cluster: tables by content, JSON by its documented schema, exit codes.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import signal
import subprocess
from typing import Any

import pytest
import yaml
from localcluster import controlplane
from localcluster.testing import apply, get, wait_until
from tests.integration.cli.conftest import NFS, PYVOLSYNC, Cli
from tests.integration.reconcile import helpers

from pyvolsync.cli import views

SOURCE = "replicationsource"
PASSWORD = "cli-test-password"
ROW_TYPES: dict[str, tuple[type, ...]] = {
    "namespace": (str,),
    "name": (str,),
    "kind": (str,),
    "trigger": (str,),
    "paused": (bool,),
    "lastSync": (str, type(None)),
    "duration": (str, type(None)),
    "nextSync": (str, type(None)),
    "result": (str, type(None)),
    "outcome": (str, type(None)),
    "snapshot": (str, type(None)),
    "bytesAdded": (int, type(None)),
    "progress": (dict, type(None)),
    "reason": (str, type(None)),
    "message": (str, type(None)),
}


def backed_up_source(
    plane: controlplane.ControlPlane,
    namespace: str,
    *,
    script: str = helpers.WRITE_SAMPLE.format(marker=1),
    **restic: Any,
) -> dict[str, Any]:
    """Create volume `data` with files (``script`` writes them), Secret `repo` and source `app`
    (``restic`` settings, default: keep the last 10); return its first status."""
    apply(
        plane,
        helpers.repository_secret("repo", path=f"{namespace}/app", password=PASSWORD),
        helpers.claim("data"),
        namespace=namespace,
    )
    helpers.run_shell(plane, namespace, "write", claim_name="data", script=script)
    settings = restic or {"retain": {"last": "10"}}
    source = helpers.replication_source("app", copy_method="Direct", **settings)
    apply(plane, source, namespace=namespace)
    return helpers.wait_for_manual_sync(plane, SOURCE, "app", namespace, "first")


def test_status_shows_the_last_backup_as_a_table_and_as_json(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    status = backed_up_source(cluster, namespace)
    snapshot = status["lastSyncResult"]["snapshotID"][:8]

    table = cli("status", "-n", namespace, "-o", "wide")
    assert table.returncode == 0, table.stderr
    header, *lines = table.stdout.splitlines()
    assert header.split()[:3] == ["NAMESPACE", "NAME", "KIND"]
    [row] = [line for line in lines if " app " in line]
    assert row.split()[:4] == [namespace, "app", "source", "manual:"]
    assert "Successful" in row and snapshot in row and "ago" in row
    assert "WaitingForManual" in row

    narrow = cli("status", "-n", namespace, columns=80)
    assert all(len(line) <= 80 for line in narrow.stdout.splitlines()), narrow.stdout
    [fitted] = [line for line in narrow.stdout.splitlines() if " app " in line]
    assert fitted.split()[:2] == [namespace, "app"] and "WaitingForManual" in fitted

    document = cli("status", "-A", "-o", "json")
    assert document.returncode == 0, document.stderr
    rows = json.loads(document.stdout)
    for item in rows:
        assert tuple(item) == views.ROW_FIELDS
        for key, value in item.items():
            assert isinstance(value, ROW_TYPES[key]), (key, value)
    [mine] = [item for item in rows if item["namespace"] == namespace]
    assert mine["snapshot"] == snapshot
    assert mine["bytesAdded"] == status["lastSyncResult"]["bytesAdded"] > 0
    assert (mine["kind"], mine["result"], mine["outcome"]) == ("source", "Successful", "succeeded")
    assert mine["progress"] is None

    yaml_rows = cli("status", "-n", namespace, "-o", "yaml")
    assert "name: app" in yaml_rows.stdout


def stopped(process: subprocess.Popen[str], *, timeout: float = 30) -> int:
    """Return the exit code of an interrupted command; if it hangs, fail with every thread's
    stack (Python's faulthandler prints them on SIGABRT) and leave no process behind."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        output = process.communicate(timeout=30)[0] or ""
        pytest.fail(f"still running {timeout:g} s after SIGINT; its threads:\n{output[-4000:]}")


def test_status_watch_prints_the_table_again_until_interrupted(
    cluster: controlplane.ControlPlane, namespace: str, crds: None, cli: Cli
) -> None:
    apply(cluster, helpers.replication_source("app", paused=True), namespace=namespace)
    watching = cli.start("status", "-n", namespace, "--watch")
    assert watching.stdout is not None
    headers = 0
    for line in watching.stdout:
        headers += line.startswith("NAMESPACE")
        if headers == 2:
            break
    watching.send_signal(signal.SIGINT)
    assert stopped(watching) == 130
    assert "Traceback" not in watching.stdout.read()
    watching.stdout.close()


def test_describe_shows_conditions_events_result_and_secret_keys_but_no_values(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    status = backed_up_source(cluster, namespace)

    described = cli("describe", "app", "-n", namespace)
    assert described.returncode == 0, described.stderr
    text = described.stdout
    for section in ("Spec", "Status", "Conditions", "Last result", "Mover", "Cache PVC"):
        assert section in text
    assert "sourcePVC" in text and "data" in text
    assert "Synchronizing" in text and "WaitingForManual" in text
    assert status["lastSyncResult"]["snapshotID"] in text
    assert "TransferCompleted" in text
    assert "volsync-src-app-cache" in text and "Bound" in text
    assert "RESTIC_PASSWORD, RESTIC_REPOSITORY" in text
    assert PASSWORD not in text
    narrow = cli("describe", "app", "-n", namespace, columns=80).stdout
    assert all(len(line) <= 80 for line in narrow.splitlines()), narrow
    assert "WaitingForManual" in narrow and "TransferCompleted" in narrow


def test_sync_wait_exits_0_on_success_and_1_with_the_reason_on_a_wrong_password(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    cli: Cli,
    repository_root: pathlib.Path,
) -> None:
    backed_up_source(cluster, namespace)

    succeeded = cli("sync", "app", "-n", namespace, "--wait", "--timeout", "180")
    assert succeeded.returncode == 0, succeeded.stdout + succeeded.stderr
    assert "sync succeeded" in succeeded.stdout
    newest = helpers.snapshots(repository_root / namespace / "app", password=PASSWORD)[-1]
    assert newest["short_id"] in succeeded.stdout

    apply(
        cluster,
        helpers.repository_secret("repo", path=f"{namespace}/app", password="not-the-password"),
        namespace=namespace,
    )
    failed = cli("sync", "app", "-n", namespace, "--wait", "--timeout", "180")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    [line] = [line for line in failed.stdout.splitlines() if "sync failed" in line]
    assert "WrongPassword" in line and "RESTIC_PASSWORD" in line
    assert "not-the-password" not in failed.stdout


def test_sync_of_a_scheduled_source_runs_now_and_puts_the_schedule_back(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    yearly = {"schedule": "0 0 1 1 *"}
    apply(
        cluster,
        helpers.repository_secret("repo", path=f"{namespace}/app", password=PASSWORD),
        helpers.claim("data"),
        namespace=namespace,
    )
    helpers.run_shell(cluster, namespace, "write", claim_name="data", script="echo x > /data/x")
    apply(cluster, helpers.replication_source("app", trigger=yearly), namespace=namespace)
    new_year = f"{datetime.datetime.now(datetime.UTC).year + 1}-01-01T00:00:00Z"
    first = wait_until(
        lambda: _waiting_for(cluster, namespace, new_year),
        what="the first (immediate) sync, then the wait for the new year",
        timeout=120,
    )

    synced = cli("sync", "app", "-n", namespace)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "schedule is suspended while trigger.manual is set" in synced.stdout
    assert "sync succeeded" in synced.stdout
    source = get(cluster, SOURCE, "app", namespace=namespace)
    assert source is not None and source["spec"]["trigger"] == yearly
    after = wait_until(
        lambda: _waiting_for(cluster, namespace, new_year), what="the schedule to be back"
    )
    assert after["lastSyncResult"]["snapshotID"] != first["lastSyncResult"]["snapshotID"]


def _waiting_for(
    plane: controlplane.ControlPlane, namespace: str, next_sync: str
) -> dict[str, Any] | None:
    current = helpers.status(plane, SOURCE, "app", namespace)
    return current if current.get("nextSyncTime") == next_sync else None


def test_snapshots_lists_the_repository_through_a_job_in_the_namespace(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    cli: Cli,
    repository_root: pathlib.Path,
) -> None:
    backed_up_source(cluster, namespace)
    assert cli("sync", "app", "-n", namespace, "--wait").returncode == 0
    in_repository = helpers.snapshots(repository_root / namespace / "app", password=PASSWORD)

    listed = cli("snapshots", "app", "-n", namespace, "--repository-nfs", NFS, "-o", "json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["id"] for row in rows] == [item["short_id"] for item in in_repository]
    assert all(row["hostname"] == "volsync" and row["paths"] == ["/data"] for row in rows)
    assert all(row["size"] == in_repository[0]["summary"]["total_bytes_processed"] for row in rows)

    table = cli("snapshots", "app", "-n", namespace, "--repository-nfs", NFS)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == [
        "TIME", "ID", "SIZE", "FILES", "ADDED", "PINNED", "TAGS", "SOURCE"
    ]  # fmt: skip
    assert all(item["short_id"] in table.stdout for item in in_repository)
    jobs = cluster.kubectl("get", "jobs", "-n", namespace, "-o", "name").stdout
    assert "pyvolsync-snapshots" not in jobs, "the listing Job is deleted afterwards"

    from_lease = cli("snapshots", "app", "-n", namespace, "-o", "json")
    assert from_lease.returncode == 0, from_lease.stdout + from_lease.stderr
    assert json.loads(from_lease.stdout) == rows, "settings read from the operator's Lease"

    apply(cluster, operator_deployment(), namespace=namespace)
    from_deployment = cli("snapshots", "app", "-n", namespace, "-o", "json")
    assert from_deployment.returncode == 0, from_deployment.stdout + from_deployment.stderr
    assert json.loads(from_deployment.stdout) == rows, "settings read from the operator Deployment"


def kopia_source(plane: controlplane.ControlPlane, namespace: str, *, password: str) -> None:
    """Create volume `data` with files, Secret `kopia-repo` and kopia source `web` (manual)."""
    secret = helpers.kopia_secret("kopia-repo", path=f"{namespace}/kopia", password=password)
    apply(plane, secret, helpers.claim("data"), namespace=namespace)
    helpers.run_shell(
        plane, namespace, "write", claim_name="data", script=helpers.WRITE_SAMPLE.format(marker=1)
    )
    spec = {
        "sourcePVC": "data",
        "trigger": {"manual": "first"},
        "kopia": {"repository": "kopia-repo", "copyMethod": "Direct"},
    }
    apply(plane, helpers.manifest(helpers.VOLSYNC, "ReplicationSource", "web", spec),
          namespace=namespace)  # fmt: skip


def test_snapshots_of_a_kopia_source_lists_its_identity_and_names_a_wrong_password(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    kopia_source(cluster, namespace, password=PASSWORD)
    helpers.wait_for_manual_sync(cluster, SOURCE, "web", namespace, "first")
    assert cli("sync", "web", "-n", namespace, "--wait").returncode == 0

    listed = cli("snapshots", "web", "-n", namespace, "--repository-nfs", NFS, "-o", "json")

    assert listed.returncode == 0, listed.stdout + listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 2, rows
    assert {row["identity"] for row in rows} == {f"web@{namespace}:/data"}
    assert all(row["files"] > 0 and row["size"] > 0 and not row["pinned"] for row in rows)
    status = helpers.status(cluster, SOURCE, "web", namespace)
    assert rows[-1]["id"] == status["lastSyncResult"]["snapshotID"][:8]
    table = cli("snapshots", "web", "-n", namespace, "--repository-nfs", NFS)
    assert f"web@{namespace}:/data" in table.stdout and rows[0]["id"] in table.stdout

    cluster.kubectl(
        "patch", "secret", "kopia-repo", "-n", namespace, "--type=merge",
        "-p", json.dumps({"stringData": {"KOPIA_PASSWORD": "not-the-password"}}),
    )  # fmt: skip
    refused = cli("snapshots", "web", "-n", namespace, "--repository-nfs", NFS)
    assert refused.returncode != 0
    assert "wrong-password" in refused.stderr, refused.stderr


def test_moving_an_app_from_restic_to_kopia_keeps_the_restic_history_restorable(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    """docs/migration.md, "Moving an app from restic to kopia", step by step."""
    backed_up_source(cluster, namespace)
    restic_bytes = helpers.tree_checksum(cluster, namespace, "sum-restic", "data")
    restic_rows = json.loads(
        cli("snapshots", "app", "-n", namespace, "--repository-nfs", NFS, "-o", "json").stdout
    )
    kopia_secret = helpers.kopia_secret("kopia-repo", path=f"{namespace}/kopia", password=PASSWORD)
    apply(cluster, kopia_secret, namespace=namespace)
    marker = "echo kopia > /data/dir/deeper/marker"
    helpers.run_shell(cluster, namespace, "change", claim_name="data", script=marker)
    helpers.patch_spec(cluster, SOURCE, "app", namespace, {
        "restic": None,
        "kopia": {"repository": "kopia-repo", "copyMethod": "Direct"},
        "trigger": {"manual": "on-kopia"},
    })  # fmt: skip
    helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "on-kopia")
    apply(cluster, helpers.replication_destination("app-restic-history"), namespace=namespace)
    helpers.wait_for_manual_sync(
        cluster, "replicationdestination", "app-restic-history", namespace, "restore-once"
    )

    kopia_rows = json.loads(
        cli("snapshots", "app", "-n", namespace, "--repository-nfs", NFS, "-o", "json").stdout
    )
    history = cli(
        "snapshots", "app-restic-history", "-n", namespace, "--repository-nfs", NFS, "-o", "json"
    )

    assert [row["identity"] for row in kopia_rows] == [f"app@{namespace}:/data"]
    assert [row["id"] for row in json.loads(history.stdout)] == [row["id"] for row in restic_rows]
    restored = helpers.status(cluster, "replicationdestination", "app-restic-history", namespace)
    claim = restored["latestImage"]["name"]
    assert helpers.tree_checksum(cluster, namespace, "sum-history", claim) == restic_bytes


def operator_deployment() -> dict[str, Any]:
    """Return an operator Deployment (scaled to zero) carrying the repository volume setting."""
    labels = {"app.kubernetes.io/name": "pyvolsync"}
    container = {
        "name": "operator",
        "image": "ghcr.io/pyvolsync/pyvolsync:test",
        "env": [
            {"name": "PYVOLSYNC_MOVER_IMAGE", "value": "ghcr.io/pyvolsync/pyvolsync-mover:test"},
            {"name": "PYVOLSYNC_REPOSITORY_NFS", "value": NFS},
        ],
    }
    spec = {
        "replicas": 0,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
    }
    deployment = helpers.manifest("apps/v1", "Deployment", "volsync", spec)
    deployment["metadata"]["labels"] = labels
    return deployment


def test_restore_to_a_new_pvc_as_of_the_first_snapshot(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    backed_up_source(cluster, namespace)
    first_checksum = helpers.tree_checksum(cluster, namespace, "sum-first", "data")
    helpers.run_shell(
        cluster, namespace, "change", claim_name="data", script="echo 2 > /data/dir/deeper/marker"
    )
    assert cli("sync", "app", "-n", namespace, "--wait").returncode == 0
    listed = cli("snapshots", "app", "-n", namespace, "--repository-nfs", NFS, "-o", "json")
    first, second = json.loads(listed.stdout)

    as_of = first["time"]  # copied from the listing, as docs/cli.md shows
    assert as_of < second["time"]
    restored = cli(
        "restore", "app", "--to", "restored", "--as-of", as_of, "-n", namespace, "--wait"
    )
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "created PVC" in restored.stdout and "restore succeeded" in restored.stdout
    destination = get(cluster, "replicationdestination", "restored-restore", namespace=namespace)
    assert destination is not None
    assert destination["spec"]["restic"]["destinationPVC"] == "restored"
    assert destination["spec"]["restic"]["restoreAsOf"] == as_of
    assert helpers.tree_checksum(cluster, namespace, "sum-restored", "restored") == first_checksum

    newest = cli("restore", "app", "--to", "restored", "--previous", "0", "-n", namespace, "--wait")
    assert newest.returncode == 0, newest.stdout + newest.stderr
    assert "created PVC" not in newest.stdout, "the existing PVC is restored into"
    repointed = get(cluster, "replicationdestination", "restored-restore", namespace=namespace)
    assert repointed is not None
    assert "restoreAsOf" not in repointed["spec"]["restic"]
    assert repointed["spec"]["restic"]["previous"] == 0
    now_checksum = helpers.tree_checksum(cluster, namespace, "sum-now", "data")
    assert helpers.tree_checksum(cluster, namespace, "sum-newest", "restored") == now_checksum


def test_restore_into_another_namespace_copies_the_secret_only_when_asked(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    backed_up_source(cluster, namespace)
    checksum = helpers.tree_checksum(cluster, namespace, "sum-source", "data")
    other = f"{namespace[:55]}-copy"
    cluster.kubectl("create", "namespace", other)
    try:
        wait_until(
            lambda: (
                cluster.kubectl("get", "sa", "default", "-n", other, check=False).returncode == 0
            ),
            what=f"the default ServiceAccount of {other}",
        )
        refused = cli("restore", "app", "--to", "copy", "--to-namespace", other, "-n", namespace)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"does not exist in namespace {other!r}: pass --copy-secret" in refused.stderr
        assert get(cluster, "pvc", "copy", namespace=other) is None, "nothing was created"

        restored = cli(
            "restore", "app", "--to", "copy", "--to-namespace", other, "--copy-secret",
            "--wait", "-n", namespace,
        )  # fmt: skip

        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert f"copied Secret {namespace}/repo to namespace {other}" in restored.stdout
        copied = get(cluster, "secret", "repo", namespace=other)
        assert copied is not None
        assert copied["metadata"]["annotations"]["pyvolsync.dev/copied-from"] == (
            f"{namespace}/repo"
        )
        assert helpers.tree_checksum(cluster, other, "sum-copy", "copy") == checksum
    finally:
        cluster.kubectl("delete", "namespace", other, "--wait=false", check=False)


def test_pause_resume_unlock_and_logs(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    backed_up_source(cluster, namespace)

    assert cli("pause", "app", "-n", namespace).returncode == 0
    paused = json.loads(cli("status", "-n", namespace, "-o", "json").stdout)[0]
    assert paused["paused"] is True
    wait_until(
        lambda: helpers.condition(cluster, SOURCE, "app", namespace).get("reason") == "Paused",
        what="the Paused reason",
    )
    assert cli("resume", "app", "-n", namespace).returncode == 0
    assert get(cluster, SOURCE, "app", namespace=namespace)["spec"]["paused"] is False

    unlocked = cli("unlock", "app", "-n", namespace, "--wait", "--timeout", "180")
    assert unlocked.returncode == 0, unlocked.stdout + unlocked.stderr
    status = helpers.status(cluster, SOURCE, "app", namespace)
    assert (
        status["restic"]["lastUnlocked"]
        == get(cluster, SOURCE, "app", namespace=namespace)["spec"]["restic"]["unlock"]
    )

    wait_until(
        lambda: (
            not helpers.names_of(
                cluster, "jobs,pods", namespace, "app.kubernetes.io/created-by=volsync"
            )
        ),
        what="the mover Job and pod to be cleaned up",
    )
    logs = cli("logs", "app", "-n", namespace)
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.strip() == status["latestMoverStatus"]["logs"].strip()


def test_user_errors_are_one_line_with_what_to_do_and_exit_code_2(
    cluster: controlplane.ControlPlane,
    namespace: str,
    crds: None,
    cli: Cli,
    tmp_path: pathlib.Path,
) -> None:
    missing = cli("describe", "nothing-here", "-n", namespace)
    assert missing.returncode == 2
    assert missing.stdout == ""
    [line] = missing.stderr.splitlines()
    assert f"namespace {namespace!r}" in line and "pyvolsync status -A" in line

    wrong_kind = cli("sync", "nothing-here", "-n", namespace, "--kind", "source")
    assert wrong_kind.returncode == 2 and "ReplicationSource" in wrong_kind.stderr

    no_context = cli("status", "--context", "elsewhere")
    assert no_context.returncode == 2
    assert "'elsewhere' not found" in no_context.stderr and "--kubeconfig" in no_context.stderr

    config = yaml.safe_load(cluster.kubeconfig.read_text())
    for entry in config["clusters"]:
        entry["cluster"]["server"] = "https://127.0.0.1:9"  # nothing listens there
    unreachable_config = tmp_path / "unreachable"
    unreachable_config.write_text(yaml.safe_dump(config))
    unreachable = subprocess.run(
        [PYVOLSYNC, "status", "-A", "--kubeconfig", str(unreachable_config)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert unreachable.returncode == 2
    [line] = unreachable.stderr.splitlines()
    assert "cannot reach the Kubernetes API server" in line and "kubectl cluster-info" in line

    bad_time = cli("restore", "nothing-here", "--to", "x", "--as-of", "yesterday", "-n", namespace)
    assert bad_time.returncode == 2 and "RFC 3339" in bad_time.stderr
    everything = missing.stderr + wrong_kind.stderr + no_context.stderr + bad_time.stderr
    assert "Traceback" not in everything + unreachable.stderr


def test_kubectl_runs_it_as_a_plugin(
    cluster: controlplane.ControlPlane, namespace: str, crds: None, tmp_path: pathlib.Path
) -> None:
    """`kubectl pyvolsync ...` runs `kubectl-pyvolsync` from PATH (the console script)."""
    (tmp_path / "kubectl-pyvolsync").symlink_to(PYVOLSYNC)
    apply(cluster, helpers.replication_source("app", paused=True), namespace=namespace)
    environment = {
        **os.environ,
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "KUBECONFIG": str(cluster.kubeconfig),
    }
    listed = subprocess.run(
        [str(cluster.binaries.kubectl), "pyvolsync", "status", "-n", namespace, "-o", "json"],
        capture_output=True, text=True, env=environment, timeout=60, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert [(row["name"], row["paused"]) for row in json.loads(listed.stdout)] == [("app", True)]
