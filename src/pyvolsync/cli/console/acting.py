"""What the console's buttons do: the same edits as ``pyvolsync sync|pause|resume|unlock|ack``.

Each action is a merge patch of a field upstream VolSync has (``ack``: of the annotation
``pyvolsync ack`` writes), made with the user's own
credentials (the API server refuses what their RBAC does not allow), and recorded as an Event on
the object naming the user. "Sync now" on a scheduled source suspends its schedule while
``trigger.manual`` is set (upstream's rule), so the console clears the value again once the
sync it asked for has finished, as the CLI does.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Mapping
from typing import Any

from pyvolsync.cli import actions, follow, session
from pyvolsync.cli.console import live
from pyvolsync.kube import client, errors
from pyvolsync.planning import guard

logger = logging.getLogger(__name__)

SCHEDULE_RESTORE_TIMEOUT_SECONDS = 24 * 3600.0
"""How long a requested sync may take before the console stops waiting to resume the schedule."""


class Action(enum.StrEnum):
    """The console's buttons."""

    SYNC = "sync"
    PAUSE = "pause"
    RESUME = "resume"
    UNLOCK = "unlock"
    ACK = "ack"
    """Acknowledge the backup the anomaly guard found suspicious (``pyvolsync ack``)."""


EVENT_REASONS = {
    Action.SYNC: ("SyncRequested", "sync requested"),
    Action.PAUSE: ("Paused", "paused"),
    Action.RESUME: ("Resumed", "resumed"),
    Action.UNLOCK: ("UnlockRequested", "unlock of stale repository locks requested"),
    Action.ACK: ("AnomalyAcknowledgeRequested", "suspicious backup acknowledged"),
}


class RefusedError(Exception):
    """The action does not apply to this object; the message says why."""


class Acting:
    """Carries out actions for one console (its API client and its fleet view)."""

    def __init__(self, kube: client.Kube, fleet: live.Fleet) -> None:
        self.kube = kube
        self.fleet = fleet
        self._followers: set[asyncio.Task[None]] = set()

    async def act(self, obj: Mapping[str, Any], action: Action, *, user: str) -> str:
        """Do ``action`` on ``obj`` as the console's credentials allow; return what was done."""
        meta = obj["metadata"]
        patch = _patch_of(obj, action)
        await self.kube.patch(
            session.kind_of(obj), meta["name"], patch, namespace=meta["namespace"]
        )
        reason, words = EVENT_REASONS[action]
        await self.kube.event(
            obj, type_="Normal", reason=reason, action="Console",
            note=f"{words} by {user} from the pyvolsync console",
        )  # fmt: skip
        scheduled = bool(((obj.get("spec") or {}).get("trigger") or {}).get("schedule"))
        if action is Action.SYNC and scheduled:
            self._resume_schedule_after(obj, patch["spec"]["trigger"]["manual"])
        return _said(obj, action)

    def _resume_schedule_after(self, obj: Mapping[str, Any], value: str) -> None:
        task = asyncio.create_task(self._clear_manual(obj, value))
        self._followers.add(task)
        task.add_done_callback(self._followers.discard)

    async def _clear_manual(self, obj: Mapping[str, Any], value: str) -> None:
        """Wait until the requested sync finished, then clear ``trigger.manual``."""
        key = live.key_of(obj)
        finished = follow.answered(value)

        def done(found: Mapping[str, Any] | None) -> bool:
            return found is None or finished(found.get("status") or {})

        try:
            found = await self.fleet.wait_for(key, done, timeout=SCHEDULE_RESTORE_TIMEOUT_SECONDS)
            if found is None:
                return
            patch = {"spec": {"trigger": {"manual": None}}}
            meta = found["metadata"]
            await self.kube.patch(
                session.kind_of(found), meta["name"], patch, namespace=meta["namespace"]
            )
        except (TimeoutError, errors.KubeError) as error:
            logger.warning("cannot resume the schedule of %s/%s: %s", key[1], key[2], error)

    async def stop(self) -> None:
        """Stop waiting for requested syncs (the console is shutting down)."""
        for task in list(self._followers):
            task.cancel()
        await asyncio.gather(*self._followers, return_exceptions=True)


def _patch_of(obj: Mapping[str, Any], action: Action) -> dict[str, Any]:
    """Return the merge patch ``action`` makes; RefusedError when it does not apply."""
    if action is not Action.ACK:
        return {"spec": _spec_of(obj, action)}
    anomaly = ((obj.get("status") or {}).get("anomaly") or {}).get("snapshotID")
    if not session.is_source(obj) or not anomaly:
        raise RefusedError("there is no suspicious backup to acknowledge")
    return guard.acknowledgement(str(anomaly))


def _spec_of(obj: Mapping[str, Any], action: Action) -> dict[str, Any]:
    """Return the spec fields ``action`` sets; RefusedError when it does not apply."""
    if action is Action.SYNC:
        return {"trigger": {"manual": actions.trigger_value()}}
    if action in (Action.PAUSE, Action.RESUME):
        return {"paused": action is Action.PAUSE}
    if session.engine_of(obj) != "restic":
        raise RefusedError(
            "unlock is a restic setting (spec.restic.unlock); a kopia repository needs none"
        )
    return {"restic": {"unlock": actions.trigger_value()}}


def _said(obj: Mapping[str, Any], action: Action) -> str:
    meta = obj["metadata"]
    what = f"{obj.get('kind')} {meta['namespace']}/{meta['name']}"
    return {
        Action.SYNC: f"{what}: sync requested",
        Action.PAUSE: f"{what} paused: no new sync starts (a running one finishes)",
        Action.RESUME: f"{what} resumed",
        Action.UNLOCK: f"{what}: unlock requested; it runs at the start of the next sync",
        Action.ACK: f"{what}: suspicious backup acknowledged; retention and prune resume with "
        "the next backup (the last good snapshot stays pinned)",
    }[action]
