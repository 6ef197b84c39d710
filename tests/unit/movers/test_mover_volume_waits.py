"""An iteration never takes over an object of the previous one that is still being deleted."""

from __future__ import annotations

import pytest

from pyvolsync.movers import base
from pyvolsync.movers import iteration as mover


def test_an_object_being_deleted_is_waited_for() -> None:
    terminating = {
        "kind": "VolumeSnapshot",
        "metadata": {"name": "volsync-app-src", "deletionTimestamp": "2026-01-01T00:00:00Z"},
    }
    with pytest.raises(mover.StepWaitingError) as waiting:
        mover._not_being_deleted(terminating)
    assert waiting.value.result.phase is base.Phase.WAITING
    assert "previous VolumeSnapshot volsync-app-src" in waiting.value.result.message


def test_a_live_object_is_used() -> None:
    mover._not_being_deleted({"kind": "PersistentVolumeClaim", "metadata": {"name": "cache"}})
