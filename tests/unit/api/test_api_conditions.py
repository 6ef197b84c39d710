"""Conditions change their transition time only when their status flips, as apimachinery does."""

from __future__ import annotations

import datetime

from pyvolsync.api import common, conditions

EARLIER = datetime.datetime(2024, 5, 1, 10, 0, tzinfo=datetime.UTC)
NOW = datetime.datetime(2024, 5, 1, 11, 0, tzinfo=datetime.UTC)


def synchronizing(status: str, reason: str, message: str) -> common.Condition:
    return common.Condition(
        type=conditions.SYNCHRONIZING,
        status=status,  # type: ignore[arg-type]
        reason=reason,
        message=message,
        last_transition_time=EARLIER,
    )


def test_a_new_condition_is_added_at_now() -> None:
    other = common.Condition(
        type="Other", status="True", reason="Fine", message="", last_transition_time=EARLIER
    )
    result = conditions.set_condition(
        [other], synchronizing("True", conditions.REASON_SYNC_IN_PROGRESS, "running"), now=NOW
    )
    assert [item.type for item in result] == ["Other", "Synchronizing"]
    assert result[1].last_transition_time == NOW


def test_same_status_keeps_the_transition_time_but_takes_the_new_reason() -> None:
    current = [synchronizing("False", conditions.REASON_WAITING_FOR_SCHEDULE, "waiting")]
    result = conditions.set_condition(
        current, synchronizing("False", conditions.REASON_ERROR, "broken"), now=NOW
    )
    assert len(result) == 1
    assert (result[0].reason, result[0].message) == ("Error", "broken")
    assert result[0].last_transition_time == EARLIER


def test_a_status_flip_moves_the_transition_time() -> None:
    current = [synchronizing("False", conditions.REASON_WAITING_FOR_SCHEDULE, "waiting")]
    result = conditions.set_condition(
        current, synchronizing("True", conditions.REASON_SYNC_IN_PROGRESS, "running"), now=NOW
    )
    assert result[0].status == "True"
    assert result[0].last_transition_time == NOW


def test_find_condition() -> None:
    current = [synchronizing("True", conditions.REASON_SYNC_IN_PROGRESS, "running")]
    assert conditions.find_condition(current, conditions.SYNCHRONIZING) == current[0]
    assert conditions.find_condition(current, "Ready") is None
