"""Which workloads an in-place restore stops, and its journal on the PVC."""

from __future__ import annotations

from typing import Any

import pytest

from pyvolsync.planning import inplace


def _mounting(claim: str) -> dict[str, Any]:
    return {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]}


def _workload(name: str, claim: str, *, replicas: int = 2) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "template": {"spec": _mounting(claim)}},
    }


def _pod(name: str, claim: str, owner: tuple[str, str] | None, phase: str = "Running") -> Any:
    references = [{"kind": owner[0], "name": owner[1], "controller": True}] if owner else []
    return {
        "metadata": {"name": name, "ownerReferences": references},
        "spec": _mounting(claim),
        "status": {"phase": phase},
    }


def test_the_deployment_and_the_stateful_set_that_mount_the_claim_are_found() -> None:
    stateful = {
        "metadata": {"name": "db"},
        "spec": {"replicas": 1, "template": {"spec": {}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"}}]},
    }  # fmt: skip
    replica_set = {"metadata": {"name": "web-5d9", "ownerReferences": [
        {"kind": "Deployment", "name": "web", "controller": True}]}}  # fmt: skip

    found = inplace.discover(
        "data-db-0",
        deployments=[_workload("web", "data-db-0"), _workload("other", "elsewhere")],
        stateful_sets=[stateful],
        replica_sets=[replica_set],
        pods=[
            _pod("web-5d9-x", "data-db-0", ("ReplicaSet", "web-5d9")),
            _pod("db-0", "data-db-0", ("StatefulSet", "db")),
            _pod("done", "data-db-0", None, phase="Succeeded"),
        ],
    )

    assert [str(item) for item in found.workloads] == [
        "Deployment web (2 replicas)",
        "StatefulSet db (1 replica)",
    ]
    assert found.blockers == ()


def test_pods_nobody_can_scale_block_the_restore() -> None:
    found = inplace.discover(
        "data",
        deployments=[],
        stateful_sets=[],
        replica_sets=[],
        pods=[_pod("plain", "data", None), _pod("agent-x", "data", ("DaemonSet", "agent"))],
    )

    assert found.blockers == (
        "pod plain (no controller) mounts PVC data",
        "pod agent-x (DaemonSet agent) mounts PVC data",
    )


def test_the_journal_reads_back_what_was_written() -> None:
    journal = inplace.Journal(
        source="app",
        snapshot="1a2b3c4d" * 8,
        paths=("/config/app.ini", "/ünï code"),
        phase=inplace.Phase.SAFETY_COPIED,
        workloads=(inplace.Workload(kind="Deployment", name="web", replicas=3),),
        safety_copy="ffee",
        started_at="2026-12-03T20:00:00Z",
    )
    claim = {"metadata": {"annotations": inplace.journal_patch(journal)["metadata"]["annotations"]}}

    assert inplace.read_journal(claim) == journal
    assert inplace.read_journal({"metadata": {}}) is None
    assert inplace.journal_patch(None) == {
        "metadata": {"annotations": {inplace.JOURNAL_ANNOTATION: None}}
    }


def test_an_unreadable_journal_says_what_to_do() -> None:
    claim = {"metadata": {"annotations": {inplace.JOURNAL_ANNOTATION: '{"phase": "x"}'}}}

    with pytest.raises(inplace.JournalError, match="remove it once the workloads run again"):
        inplace.read_journal(claim)


def test_only_the_first_two_phases_leave_the_volume_untouched() -> None:
    untouched = [phase for phase in inplace.Phase if phase.volume_untouched]
    finished = [phase for phase in inplace.Phase if phase.finished]

    assert untouched == [inplace.Phase.STOPPING, inplace.Phase.STOPPED]
    assert finished == [inplace.Phase.DONE, inplace.Phase.UNDONE]


def _snapshot_class(name: str, driver: str, *, default: bool = False) -> dict[str, Any]:
    annotations = {inplace.DEFAULT_SNAPSHOT_CLASS_ANNOTATION: "true"} if default else {}
    return {"metadata": {"name": name, "annotations": annotations}, "driver": driver}


def test_the_safety_copy_is_a_volume_snapshot_only_where_a_class_can_take_one() -> None:
    claim = {"metadata": {"name": "data", "namespace": "apps"},
             "spec": {"storageClassName": "longhorn"}}  # fmt: skip
    storage = [{"metadata": {"name": "longhorn"}, "provisioner": "driver.longhorn.io"}]
    classes = [
        _snapshot_class("other", "other.csi"),
        _snapshot_class("plain", "driver.longhorn.io"),
        _snapshot_class("chosen", "driver.longhorn.io", default=True),
    ]

    def chosen(wanted: str = "", found: list[dict[str, Any]] = classes) -> str:
        return inplace.snapshot_class(
            claim, storage_classes=storage, snapshot_classes=found, wanted=wanted
        )

    assert chosen() == "chosen", "the driver's default"
    assert chosen(found=classes[:2]) == "plain", "its only one"
    assert chosen(found=classes[:1]) == "", "no class for the driver: a backup"
    assert chosen("plain") == "plain" and chosen("other") == "", "the source's, if it fits"


def test_the_undo_reads_a_volume_made_from_the_snapshot_shaped_like_the_claim() -> None:
    claim = {
        "metadata": {"name": "data", "namespace": "apps"},
        "spec": {"storageClassName": "longhorn", "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"capacity": {"storage": "2Gi"}},
    }

    clone = inplace.clone_claim(claim, name="data-before", volume_snapshot="data-before")

    assert clone["metadata"]["namespace"] == "apps"
    assert clone["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert clone["spec"]["storageClassName"] == "longhorn"
    assert clone["spec"]["dataSource"] == {
        "apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "data-before",
    }  # fmt: skip
