"""Restore drills on the local cluster: the operator restores the newest snapshot into a scratch
volume with real restic, verifies it, runs the user's check, and records what a user reads.

A user asks with annotations (``pyvolsync.dev/drill-*``) and checks ``status.drill``, the
events, and that nothing is left behind (no Job, no scratch PVC).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from localcluster import controlplane
from localcluster.testing import apply, get, wait_until

from pyvolsync.movers import drillsettings
from reconcile import helpers
from reconcile.conftest import Operator

SOURCE = "replicationsource"
SCRATCH = "volsync-drill-app"


def annotate(
    cluster: controlplane.ControlPlane, namespace: str, annotations: dict[str, str | None]
) -> None:
    patch = json.dumps({"metadata": {"annotations": annotations}})
    cluster.kubectl("patch", SOURCE, "app", "-n", namespace, "--type=merge", "-p", patch)


def drilled(cluster: controlplane.ControlPlane, namespace: str, value: str) -> dict[str, Any]:
    """Wait until the drill asked for with ``drill-now: value`` is recorded; return it."""

    def recorded() -> dict[str, Any] | None:
        found = helpers.status(cluster, SOURCE, "app", namespace).get("drill") or {}
        return found if found.get("lastManual") == value else None

    return dict(wait_until(recorded, what=f"the drill {value!r} to be recorded", timeout=180))


def left_behind(cluster: controlplane.ControlPlane, namespace: str) -> list[str]:
    kinds = ("job", "persistentvolumeclaim")
    return [kind for kind in kinds if get(cluster, kind, SCRATCH, namespace=namespace)]


def test_a_drill_restores_verifies_runs_the_check_and_leaves_nothing_behind(
    cluster: controlplane.ControlPlane, namespace: str, operator: object
) -> None:
    helpers.prepare_app(cluster, namespace)
    helpers.run_shell(
        cluster, namespace, "sample", claim_name="data",
        script=helpers.WRITE_SAMPLE.format(marker="drill"),
    )  # fmt: skip
    apply(cluster, helpers.replication_source("app", copy_method="Direct"), namespace=namespace)
    backed_up = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "first")
    snapshot = backed_up["lastSyncResult"]["snapshotID"]

    annotate(cluster, namespace, {
        drillsettings.NOW_ANNOTATION: "one",
        drillsettings.PATHS_ANNOTATION: "hello.txt, dir/deeper/marker",
        drillsettings.MIN_SIZE_ANNOTATION: "200Ki",
        drillsettings.IMAGE_ANNOTATION: helpers.BUSYBOX,
        drillsettings.COMMAND_ANNOTATION: "grep -q drill /data/dir/deeper/marker",
    })  # fmt: skip
    passed = drilled(cluster, namespace, "one")
    assert passed["result"] == "Succeeded", passed
    assert passed["snapshotID"] == snapshot
    assert passed["files"] == 4  # x, hello.txt, dir/blob, dir/deeper/marker
    assert passed["bytes"] > 300000
    assert passed["message"].endswith("your check passed"), passed
    reasons = [reason for _, reason, _ in helpers.event_reasons(cluster, namespace, "app")]
    assert "DrillStarted" in reasons and "DrillSucceeded" in reasons
    wait_until(lambda: not left_behind(cluster, namespace), what="the drill's Job and PVC to go")

    annotate(cluster, namespace, {
        drillsettings.NOW_ANNOTATION: "two",
        drillsettings.COMMAND_ANNOTATION: "echo 'integrity check: 3 pages corrupt'; exit 3",
    })  # fmt: skip
    failed = drilled(cluster, namespace, "two")
    assert failed["result"] == "Failed"
    assert "your check exited with 3" in failed["message"]
    assert "3 pages corrupt" in failed["message"]

    annotate(cluster, namespace, {
        drillsettings.NOW_ANNOTATION: "three",
        drillsettings.PATHS_ANNOTATION: "config/config.php",
        drillsettings.IMAGE_ANNOTATION: None,
        drillsettings.COMMAND_ANNOTATION: None,
    })  # fmt: skip
    missing = drilled(cluster, namespace, "three")
    assert missing["result"] == "Failed"
    assert "config/config.php" in missing["message"]
    warnings = [
        reason for kind, reason, _ in helpers.event_reasons(cluster, namespace, "app")
        if kind == "Warning"
    ]  # fmt: skip
    assert warnings.count("DrillFailed") >= 1
    wait_until(lambda: not left_behind(cluster, namespace), what="the drill's Job and PVC to go")


def test_a_kopia_source_is_drilled_the_same_way(
    cluster: controlplane.ControlPlane, namespace: str, operator: object
) -> None:
    apply(
        cluster,
        helpers.kopia_secret("kopia-repo", path=f"{namespace}/kopia", password="drill-kopia"),
        helpers.claim("data"),
        namespace=namespace,
    )
    helpers.run_shell(
        cluster, namespace, "sample", claim_name="data",
        script=helpers.WRITE_SAMPLE.format(marker="kopia"),
    )  # fmt: skip
    spec = {
        "sourcePVC": "data",
        "trigger": {"manual": "first"},
        "kopia": {"repository": "kopia-repo", "copyMethod": "Direct"},
    }
    source = helpers.manifest(helpers.VOLSYNC, "ReplicationSource", "app", spec)
    source["metadata"]["annotations"] = {
        drillsettings.NOW_ANNOTATION: "one",
        drillsettings.PATHS_ANNOTATION: "hello.txt",
    }
    apply(cluster, source, namespace=namespace)
    backed_up = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "first")

    passed = drilled(cluster, namespace, "one")
    assert passed["result"] == "Succeeded", passed
    assert passed["snapshotID"] == backed_up["lastSyncResult"]["snapshotID"]
    assert passed["files"] == 3  # hello.txt, dir/blob, dir/deeper/marker
    wait_until(lambda: not left_behind(cluster, namespace), what="the drill's Job and PVC to go")


def damage_largest_pack(repository: pathlib.Path) -> pathlib.Path:
    """Overwrite bytes in the middle of the repository's largest pack (bit rot on the NAS)."""
    pack = max((repository / "data").rglob("*"), key=lambda item: item.stat().st_size)
    pack.chmod(0o600)
    with pack.open("r+b") as opened:
        opened.seek(pack.stat().st_size // 2)
        opened.write(b"\0" * 4096)
    return pack


def test_a_drill_fails_loudly_on_a_repository_with_a_damaged_pack(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: Operator,
    repository_root: pathlib.Path,
) -> None:
    helpers.prepare_app(cluster, namespace)
    helpers.run_shell(
        cluster, namespace, "sample", claim_name="data",
        script=helpers.WRITE_SAMPLE.format(marker="rot"),
    )  # fmt: skip
    apply(cluster, helpers.replication_source("app", copy_method="Direct"), namespace=namespace)
    helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "first")
    damage_largest_pack(repository_root / namespace / "app")

    annotate(cluster, namespace, {drillsettings.NOW_ANNOTATION: "after-rot"})
    failed = drilled(cluster, namespace, "after-rot")

    assert failed["result"] == "Failed", failed
    assert "ciphertext verification failed" in failed["message"], failed
    assert "restic repair packs" in failed["message"]
    warnings = [
        note for kind, reason, note in helpers.event_reasons(cluster, namespace, "app")
        if (kind, reason) == ("Warning", "DrillFailed")
    ]  # fmt: skip
    assert warnings == [failed["message"]]
    failing = [
        line
        for line in operator.metrics().splitlines()
        if line.startswith("pyvolsync_drill_failed{") and f'obj_namespace="{namespace}"' in line
    ]
    assert len(failing) == 1 and failing[0].endswith(" 1.0"), failing
    wait_until(lambda: not left_behind(cluster, namespace), what="the drill's Job and PVC to go")
