"""The condition type, its reasons and the mover results written to status, plus how to set them.

Upstream reports everything through one condition type, `Synchronizing`, and tools (dashboards,
`kubectl wait`, alerts) match on its reasons; pyvolsync keeps the type and reasons and only adds
new reasons. `set_condition` follows apimachinery's SetStatusCondition: the transition time
changes only when the condition's status flips.
"""

from __future__ import annotations

import datetime

from pyvolsync.api import common

SYNCHRONIZING = "Synchronizing"

# Reasons upstream writes.
REASON_SYNC_IN_PROGRESS = "SyncInProgress"
REASON_WAITING_FOR_SCHEDULE = "WaitingForSchedule"
REASON_WAITING_FOR_MANUAL = "WaitingForManual"
REASON_CLEANING_UP = "CleaningUp"
REASON_ERROR = "Error"

# `status.latestMoverStatus.result` values upstream writes.
MOVER_RESULT_SUCCESSFUL = "Successful"
MOVER_RESULT_FAILED = "Failed"


def set_condition(
    conditions: list[common.Condition],
    condition: common.Condition,
    *,
    now: datetime.datetime,
) -> list[common.Condition]:
    """Return `conditions` with `condition` added or replacing the one of the same type.

    The stored transition time is `now` for a new condition or a status flip; otherwise the
    existing one is kept, whatever `condition.last_transition_time` says.
    """
    previous = next((item for item in conditions if item.type == condition.type), None)
    unchanged = previous is not None and previous.status == condition.status
    transition_time = previous.last_transition_time if unchanged and previous else now
    updated = condition.model_copy(update={"last_transition_time": transition_time})
    if previous is None:
        return [*conditions, updated]
    return [updated if item.type == condition.type else item for item in conditions]


def find_condition(conditions: list[common.Condition], type_: str) -> common.Condition | None:
    """Return the condition of type `type_`, or None when there is none."""
    return next((item for item in conditions if item.type == type_), None)
