"""What the kubelet reports about a pod: container states, conditions and the status document.

Pure functions over the worker's view of the pod, so the reported shape (which condition is True
when, reasons and messages, timestamps) is the same everywhere a pod is reported.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from typing import Any

from localcluster.nodeagent import envs

MANAGED_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")


def rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def timestamp() -> str:
    return rfc3339(datetime.datetime.now(datetime.UTC))


def lost_container(started_at: str | None) -> dict[str, Any]:
    """The state a kubelet reports for a container whose process it can no longer find."""
    return {
        "terminated": {
            "exitCode": 137,
            "reason": "ContainerStatusUnknown",
            "message": "The container could not be located when the pod was terminated",
            "startedAt": started_at or timestamp(),
            "finishedAt": timestamp(),
        }
    }


@dataclasses.dataclass
class ContainerState:
    """What the kubelet reports about one container."""

    name: str
    image: str
    init: bool
    sidecar: bool = False
    restart_count: int = 0
    state: dict[str, Any] = dataclasses.field(
        default_factory=lambda: {"waiting": {"reason": "PodInitializing"}}
    )
    last_state: dict[str, Any] = dataclasses.field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None
    stop_requested: bool = False

    @property
    def running(self) -> bool:
        return "running" in self.state

    @property
    def exit_code(self) -> int | None:
        terminated = self.state.get("terminated")
        return None if terminated is None else int(terminated["exitCode"])

    def status(self) -> dict[str, Any]:
        started = self.running
        result: dict[str, Any] = {
            "name": self.name,
            "image": self.image,
            "imageID": f"localcluster://{self.image}",
            "ready": started or (self.init and not self.sidecar and self.exit_code == 0),
            "restartCount": self.restart_count,
            "started": started,
            "state": self.state,
            "lastState": self.last_state,
        }
        if self.process is not None or "terminated" in self.state:
            result["containerID"] = f"local://{self.process.pid if self.process else 0}"
        return result


@dataclasses.dataclass(frozen=True)
class PodView:
    """The facts about a running pod that its status is computed from."""

    phase: str
    sandbox_ready: bool
    initialized: bool
    init_states: list[ContainerState]
    states: list[ContainerState]


def wanted_conditions(view: PodView) -> dict[str, tuple[bool, str | None, str]]:
    """Condition type -> (true?, reason when false, message when false)."""
    terminal = view.phase in {"Succeeded", "Failed"}
    ready = not terminal and all(state.running for state in view.states)
    not_ready = " ".join(state.name for state in view.states if not state.running)
    incomplete = [s.name for s in view.init_states if s.exit_code != 0 and not s.running]
    unready_reason = "PodCompleted" if terminal else "ContainersNotReady"
    unready_message = "" if terminal else f"containers with unready status: [{not_ready}]"
    return {
        "PodReadyToStartContainers": (view.sandbox_ready and not terminal, None, ""),
        "Initialized": (
            view.initialized or not incomplete,
            "ContainersNotInitialized",
            f"containers with incomplete status: [{' '.join(incomplete)}]",
        ),
        "Ready": (ready, unready_reason, unready_message),
        "ContainersReady": (ready, unready_reason, unready_message),
    }


def conditions(view: PodView, previous: list[Any]) -> list[dict[str, Any]]:
    """The pod's conditions: others' (e.g. PodScheduled) kept, the kubelet's recomputed."""
    now = timestamp()
    by_type = {condition.type: condition for condition in previous}
    result = [c.to_dict() for t, c in by_type.items() if t not in MANAGED_CONDITIONS]
    for kind, (value, reason, message) in wanted_conditions(view).items():
        status = "True" if value else "False"
        old = by_type.get(kind)
        since = now
        if old is not None and old.status == status and old.lastTransitionTime is not None:
            since = rfc3339(old.lastTransitionTime)
        condition: dict[str, Any] = {"type": kind, "status": status, "lastTransitionTime": since}
        if not value and reason:
            condition.update(reason=reason, message=message)
        result.append(condition)
    return result


def document(
    view: PodView,
    *,
    previous_conditions: list[Any],
    start_time: str | None,
    reason: str | None,
    message: str | None,
) -> dict[str, Any]:
    """The ``status`` to merge-patch onto the pod."""
    status: dict[str, Any] = {
        "phase": view.phase,
        "conditions": conditions(view, previous_conditions),
        "hostIP": envs.NODE_IP,
        "hostIPs": [{"ip": envs.NODE_IP}],
        "podIP": envs.NODE_IP,
        "podIPs": [{"ip": envs.NODE_IP}],
        "startTime": start_time,
        "containerStatuses": [state.status() for state in view.states],
        "reason": reason,
        "message": message,
    }
    if view.init_states:
        status["initContainerStatuses"] = [state.status() for state in view.init_states]
    return status
