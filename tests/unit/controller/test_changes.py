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
    seen = changes.SpecChanges()
    first = source()
    assert seen.worth_reconciling(first, event_type=None)
    written = copy.deepcopy(first)
    written["status"] = {"lastSyncTime": "2026-01-01T00:00:00Z"}
    written["metadata"]["resourceVersion"] = "42"
    assert not seen.worth_reconciling(written, event_type="MODIFIED")


def test_spec_labels_annotations_deletion_and_finalizers_are() -> None:
    seen = changes.SpecChanges()
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
    seen = changes.SpecChanges()
    assert seen.worth_reconciling(source(), event_type=None)
    assert seen.worth_reconciling(source(), event_type="DELETED")
    assert len(seen) == 0
    assert seen.worth_reconciling(source(), event_type="ADDED")
    assert seen.worth_reconciling(source(uid="u-2"), event_type="ADDED")
    assert len(seen) == 2
