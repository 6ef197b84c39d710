"""The Kubernetes side of a restore drill: the scratch claim, the Job, reading and removing them.

drillsettings.py says what a source asks for and the reconciler says when; this module does
the I/O. The scratch claim copies the source's volume size and storage class, so the restore needs
what a real one would. The Job runs the source's own mover (same Secret, same repository, same
identity) with ``restore verify`` into the claim, then the user's check if any; it is owned by
the source, so deleting the source takes it along.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from pyvolsync import contract
from pyvolsync.kube.client import JsonObject, Kind
from pyvolsync.movers import drillsettings, iteration, logfilter
from pyvolsync.movers import jobs as job_plan
from pyvolsync.planning import metadata

OPERATIONS = (contract.Operation.RESTORE, contract.Operation.VERIFY)
DEFAULT_CAPACITY = "1Gi"
NOW_ANNOTATION = drillsettings.NOW_ANNOTATION
"""On the drill's Job: the ``drill-now`` value it answers ("" for a scheduled drill)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Finished:
    """What a finished drill Job says."""

    result: contract.MoverResult | None
    """The mover's result document (None when its pod is gone)."""
    check_exit: int | None = None
    """The user's check's exit code (None: no check, or it never ran)."""
    check_log: str = ""
    ended: datetime.datetime | None = None
    answered: str = ""
    """The ``drill-now`` value the drill answered."""
    deadline_exceeded: bool = False
    """The Job was stopped at its deadline (``pyvolsync.dev/drill-timeout``)."""


async def start(
    current: iteration.Iteration, wanted: drillsettings.Settings, *, answering: str
) -> None:
    """Create the scratch claim and the drill's Job."""
    name = drillsettings.drill_name(current.owner.name)
    claim = await _ensure_claim(current, name)
    plan = await iteration.job_plan_for(current, claim, job_name=name, operations=OPERATIONS)
    check = (wanted.image, wanted.command) if wanted.image else None
    job = job_plan.drill_job(
        dataclasses.replace(plan, cache_claim=""),
        current.settings,
        environment=wanted.environment(),
        check=check,
        annotations={NOW_ANNOTATION: answering},
        deadline_seconds=int(wanted.timeout.total_seconds()),
    )
    await current.kube.create(job)


async def _ensure_claim(current: iteration.Iteration, name: str) -> JsonObject:
    found = await current.get(Kind.CLAIM, name)
    if found is not None:
        return found
    source_claim = await current.get(Kind.CLAIM, str(current.obj["spec"].get("sourcePVC") or ""))
    return await current.kube.create(_claim(current.owner, name, source_claim or {}))


def _claim(owner: metadata.Owner, name: str, source_claim: Mapping[str, Any]) -> JsonObject:
    """Return a scratch claim as large as the source's, of its storage class."""
    spec = source_claim.get("spec") or {}
    capacity = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    claim_spec: JsonObject = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": capacity or DEFAULT_CAPACITY}},
    }
    if spec.get("storageClassName"):
        claim_spec["storageClassName"] = spec["storageClassName"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata.object_metadata(owner, name),
        "spec": claim_spec,
    }


async def read(current: iteration.Iteration, job: JsonObject) -> Finished:
    """Return what the finished drill Job ``job`` says."""
    succeeded = iteration.job_condition(job, "Complete")
    pod = await iteration.latest_pod(
        current.kube, job, phase="Succeeded" if succeeded else "Failed"
    )
    answered = (job["metadata"].get("annotations") or {}).get(NOW_ANNOTATION, "")
    ended = iteration.job_ended(job)
    if _deadline_exceeded(job):
        return Finished(result=None, ended=ended, answered=answered, deadline_exceeded=True)
    if pod is None:
        return Finished(result=None, ended=ended, answered=answered)
    mover = _status_of(pod, _mover_container(job))
    check = _status_of(pod, job_plan.DRILL_CHECK_CONTAINER)
    check_exit = _exit_code(check)
    check_log = ""
    if check_exit:
        log = await current.kube.pod_log(
            pod["metadata"]["name"],
            namespace=current.namespace,
            container=job_plan.DRILL_CHECK_CONTAINER,
        )
        check_log = logfilter.summarize(log, succeeded=False)
    return Finished(
        result=_result(mover),
        check_exit=check_exit,
        check_log=check_log,
        ended=ended,
        answered=answered,
    )


def _deadline_exceeded(job: Mapping[str, Any]) -> bool:
    return any(
        condition.get("type") == "Failed" and condition.get("reason") == "DeadlineExceeded"
        for condition in (job.get("status") or {}).get("conditions") or []
    )


def _mover_container(job: Mapping[str, Any]) -> str:
    """Return the mover's container: the init container when a check follows it."""
    spec = ((job.get("spec") or {}).get("template") or {}).get("spec") or {}
    first = (spec.get("initContainers") or spec.get("containers") or [{}])[0]
    return str(first.get("name", ""))


def _status_of(pod: Mapping[str, Any], container: str) -> Mapping[str, Any]:
    status = pod.get("status") or {}
    every = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    return next((item for item in every if item.get("name") == container), {})


def _exit_code(status: Mapping[str, Any]) -> int | None:
    terminated = (status.get("state") or {}).get("terminated")
    return None if terminated is None else int(terminated.get("exitCode") or 0)


def _result(status: Mapping[str, Any]) -> contract.MoverResult | None:
    terminated = (status.get("state") or {}).get("terminated") or {}
    try:
        return contract.MoverResult.from_json(terminated.get("message") or "")
    except contract.ResultDocumentError:
        return None


async def remove(current: iteration.Iteration) -> None:
    """Delete the drill's Job (and its pods) and its scratch claim."""
    name = drillsettings.drill_name(current.owner.name)
    await current.kube.delete(Kind.JOB, name, namespace=current.namespace)
    await current.kube.delete(Kind.CLAIM, name, namespace=current.namespace)
