"""Which watch events of a source or destination are worth a reconcile (controller/changes.py)."""

from __future__ import annotations

import copy
from typing import Any

from pyvolsync.controller import changes


def source(**meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"uid": "u-1", "namespace": "team", "name": "app", "generation": 1, **meta},
        "spec": {"trigger": {"manual": "one"}},
    }


def test_the_operators_own_status_write_is_not_worth_a_reconcile() -> None:
    seen = changes.spec_changes()
    first = source()
    assert seen.worth_reconciling(first, event_type=None)
    written = copy.deepcopy(first)
    written["status"] = {"lastSyncTime": "2026-01-01T00:00:00Z"}
    written["metadata"]["resourceVersion"] = "42"
    assert not seen.worth_reconciling(written, event_type="MODIFIED")


def test_spec_labels_annotations_deletion_and_finalizers_are() -> None:
    seen = changes.spec_changes()
    assert seen.worth_reconciling(source(), event_type="ADDED")
    for changed in (
        source(generation=2),
        source(generation=2, labels={"team": "a"}),
        source(generation=2, labels={"team": "a"}, annotations={"note": "x"}),
        source(
            generation=2,
            labels={"team": "a"},
            annotations={"note": "x"},
            deletionTimestamp="2026-01-01T00:00:00Z",
        ),
        source(
            generation=2,
            labels={"team": "a"},
            annotations={"note": "x"},
            deletionTimestamp="2026-01-01T00:00:00Z",
            finalizers=["example.com/hold"],
        ),
    ):
        assert seen.worth_reconciling(changed, event_type="MODIFIED")


def test_a_deleted_or_new_object_always_is() -> None:
    seen = changes.spec_changes()
    assert seen.worth_reconciling(source(), event_type=None)
    assert seen.worth_reconciling(source(), event_type="DELETED")
    assert len(seen) == 0
    assert seen.worth_reconciling(source(), event_type="ADDED")
    assert seen.worth_reconciling(source(uid="u-2"), event_type="ADDED")
    assert len(seen) == 2


def job(conditions: list[tuple[str, str]], **status: Any) -> dict[str, Any]:
    found = [{"type": kind, "status": value} for kind, value in conditions]
    return {"metadata": {"uid": "j-1"}, "status": {**status, "conditions": found}}


def test_a_jobs_progress_is_not_worth_a_reconcile_its_outcome_is() -> None:
    seen = changes.job_changes()
    assert not seen.worth_reconciling(job([]), event_type="ADDED")
    assert not seen.worth_reconciling(job([], active=1), event_type="MODIFIED")
    assert not seen.worth_reconciling(job([], active=1, ready=1), event_type="MODIFIED")
    assert seen.worth_reconciling(job([], active=1, ready=1, failed=1), event_type="MODIFIED")
    assert not seen.worth_reconciling(job([], active=0, failed=1), event_type="MODIFIED")
    complete = [("SuccessCriteriaMet", "True"), ("Complete", "True")]
    assert seen.worth_reconciling(job(complete[:1], failed=1), event_type="MODIFIED")
    assert seen.worth_reconciling(job(complete, failed=1), event_type="MODIFIED")
    assert not seen.worth_reconciling(job(complete[::-1], failed=1), event_type="MODIFIED")
    assert seen.worth_reconciling(job(complete, failed=1), event_type="DELETED")


def test_a_job_found_finished_at_start_up_is_worth_a_reconcile() -> None:
    seen = changes.job_changes()
    assert seen.worth_reconciling(job([("Complete", "True")]), event_type=None)
    assert len(seen) == 1
