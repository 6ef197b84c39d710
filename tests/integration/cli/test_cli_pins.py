"""`pyvolsync pin`, `unpin` and `forget` against the local cluster, the real operator and real
restic and kopia: a pinned snapshot outlives the operator's own retention, one snapshot is
forgotten after a confirmation, and every mistake is one line that changes nothing."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from typing import Any

from localcluster import controlplane
from tests.integration.cli.conftest import NFS, PYVOLSYNC, Cli
from tests.integration.cli.test_cli_commands import SOURCE, backed_up_source, kopia_source
from tests.integration.reconcile import helpers


def _listed(cli: Cli, name: str, namespace: str) -> list[dict[str, Any]]:
    listed = cli("snapshots", name, "-n", namespace, "--repository-nfs", NFS, "-o", "json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    rows: list[dict[str, Any]] = json.loads(listed.stdout)
    return rows


def _forget_at_a_terminal(
    cluster: controlplane.ControlPlane, arguments: list[str], answer: str
) -> subprocess.CompletedProcess[str]:
    """Run `pyvolsync forget` with a terminal as its input, answering ``answer`` to its question."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode())
        return subprocess.run(
            [PYVOLSYNC, "forget", *arguments, "--kubeconfig", str(cluster.kubeconfig)],
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "COLUMNS": "250", "NO_COLOR": "1"},
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)


def test_a_pinned_restic_snapshot_outlives_retention_and_forget_removes_exactly_one(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    backed_up_source(cluster, namespace)
    for _ in range(2):
        assert cli("sync", "app", "-n", namespace, "--wait").returncode == 0
    oldest, middle, newest = _listed(cli, "app", namespace)
    where = ["-n", namespace, "--repository-nfs", NFS]

    pinned = cli("pin", "app", oldest["id"], *where)

    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    after_pin = _listed(cli, "app", namespace)
    assert [row["pinned"] for row in after_pin] == [True, False, False]
    new_id = after_pin[0]["id"]
    assert after_pin[0]["time"] == oldest["time"]
    assert f"snapshot {new_id} of {oldest['time']}" in pinned.stdout
    assert f"is pinned (it was {oldest['id']}: the engine wrote it anew" in pinned.stdout
    assert f"retention keeps it until `pyvolsync unpin app {new_id}`" in pinned.stdout

    refused = cli("forget", "app", new_id, "--yes", *where)
    unasked = cli("forget", "app", middle["id"], *where)
    declined = _forget_at_a_terminal(cluster, ["app", middle["id"], *where], "n\n")
    unknown = cli("pin", "app", "0000", *where)

    assert refused.returncode == 2 and "is pinned: unpin it first" in refused.stderr, refused
    assert unasked.returncode == 2 and "pass --yes to confirm" in unasked.stderr, unasked
    assert declined.returncode != 0 and "Forget snapshot" in declined.stdout, declined
    assert unknown.returncode == 2, unknown
    assert "no snapshot ID begins with '0000'; the newest are" in unknown.stderr
    assert [row["id"] for row in _listed(cli, "app", namespace)] == [
        new_id, middle["id"], newest["id"]
    ]  # fmt: skip

    forgotten = _forget_at_a_terminal(cluster, ["app", middle["id"], *where], "y\n")

    assert forgotten.returncode == 0, forgotten.stdout + forgotten.stderr
    assert f"snapshot {middle['id']} of {middle['time']}" in forgotten.stdout
    assert "was forgotten; the next prune frees its data" in forgotten.stdout
    assert [row["id"] for row in _listed(cli, "app", namespace)] == [new_id, newest["id"]]

    cluster.kubectl(
        "patch", SOURCE, "app", "-n", namespace, "--type=merge",
        "-p", json.dumps({"spec": {"restic": {"retain": {"last": "1"}}}}),
    )  # fmt: skip
    assert cli("sync", "app", "-n", namespace, "--wait").returncode == 0
    kept = _listed(cli, "app", namespace)
    assert len(kept) == 2 and kept[0]["id"] == new_id, "the operator's retention kept the pin"
    assert helpers.status(cluster, SOURCE, "app", namespace)["snapshots"] == {
        "count": 2, "pinned": 1, "oldest": oldest["time"], "newest": kept[1]["time"]
    }  # fmt: skip
    columns = cluster.kubectl("get", SOURCE, "app", "-n", namespace).stdout.splitlines()
    assert columns[0].split()[-1] == "SNAPSHOTS" and columns[1].split()[-1] == "2", columns

    unpinned = cli("unpin", "app", new_id, *where)

    assert unpinned.returncode == 0, unpinned.stdout + unpinned.stderr
    assert "is no longer pinned" in unpinned.stdout
    assert cli("sync", "app", "-n", namespace, "--wait").returncode == 0
    (latest,) = _listed(cli, "app", namespace)
    assert latest["time"] > newest["time"], "retention removed the unpinned one"
    jobs = cluster.kubectl("get", "jobs", "-n", namespace, "-o", "name").stdout
    assert "pyvolsync-pin" not in jobs and "pyvolsync-forget" not in jobs


def test_kopia_pins_and_forgets_through_the_same_commands(
    cluster: controlplane.ControlPlane, namespace: str, operator: object, cli: Cli
) -> None:
    kopia_source(cluster, namespace, password="kopia-pins-password")
    helpers.wait_for_manual_sync(cluster, SOURCE, "web", namespace, "first")
    assert cli("sync", "web", "-n", namespace, "--wait").returncode == 0
    first, second = _listed(cli, "web", namespace)
    where = ["-n", namespace, "--repository-nfs", NFS]

    pinned = cli("pin", "web", first["id"], *where)
    forgotten = cli("forget", "web", second["id"], "--yes", *where)

    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    assert forgotten.returncode == 0, forgotten.stdout + forgotten.stderr
    (remaining,) = _listed(cli, "web", namespace)
    assert remaining["pinned"] and remaining["time"] == first["time"]
    assert "was forgotten" in forgotten.stdout

    unpinned = cli("unpin", "web", remaining["id"], *where)

    assert unpinned.returncode == 0, unpinned.stdout + unpinned.stderr
    assert not _listed(cli, "web", namespace)[0]["pinned"]
