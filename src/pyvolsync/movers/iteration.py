"""One iteration of a ReplicationSource or ReplicationDestination, step by step, any engine.

``synchronize`` is a chain of idempotent steps; each makes sure one object exists and returns it,
or says what it waits for: the data volume (the source itself, a clone, or a snapshot restored
into a PVC; a destination's target), the cache volume, the mover's identity, the repository
Secret, then the Job. The Job is created once with everything decided up front and is only
ever read afterwards; its pod's termination message (the mover's result document) tells how it
ended. ``cleanup`` deletes what the iteration made temporarily. What the engine decides (the
Secret's keys, the container, how a result reads) comes from ``iteration.mover``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn

from pyvolsync import contract
from pyvolsync.api import defaults, destination, durations
from pyvolsync.api.timestamps import parse_time
from pyvolsync.kube import client as kube_client
from pyvolsync.movers import base, logfilter, protocol
from pyvolsync.movers import jobs as job_plan
from pyvolsync.planning import metadata, names, rbac, security, volumes

logger = logging.getLogger(__name__)

Kind = kube_client.Kind
JsonObject = dict[str, Any]
HOSTNAME_LABEL = "kubernetes.io/hostname"
REASON_VOLUME_NOT_READY = "WaitingForVolume"
REASON_INVALID = "Error"
SNAPSHOT_NOT_READY = "snapshot-not-ready"
"""Failure kind: a VolumeSnapshot the iteration took was not ready within the volume timeout."""
VOLUME_NOT_BOUND = "volume-not-bound"
"""Failure kind: a PVC the mover needs was not bound within the volume timeout."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Iteration:
    """Everything one reconcile of one object knows."""

    kube: kube_client.Kube
    settings: job_plan.JobSettings
    owner: metadata.Owner
    obj: Mapping[str, Any]
    role: names.Role
    mover: protocol.Mover
    spec: protocol.EngineSpec
    now: datetime.datetime
    volume_timeout: datetime.timedelta = base.DEFAULT_VOLUME_TIMEOUT
    repository_note: str = ""
    """Why the engine found no repository where the object refers to one (``Mover.resolve``)."""
    guard_environment: tuple[tuple[str, str], ...] = ()
    """The anomaly guard's variables of a new backup Job (``planning.guard.environment``)."""

    @property
    def namespace(self) -> str:
        """Return the object's namespace."""
        return self.owner.namespace

    @property
    def field(self) -> str:
        """Return the path of the engine's section, e.g. ``spec.restic``, for messages."""
        return f"spec.{self.mover.name}"

    async def get(self, kind: Kind, name: str) -> JsonObject | None:
        """Return the object ``name`` of ``kind`` in this namespace, or None."""
        return await self.kube.get(kind, name, namespace=self.namespace)


class StepWaitingError(Exception):
    """A step cannot finish yet; carries the result to report."""

    def __init__(self, result: base.SyncState) -> None:
        super().__init__(result.message)
        self.result = result


async def synchronize_source(
    iteration: Iteration, *, operations: tuple[contract.Operation, ...]
) -> base.SyncState:
    """Run one backup iteration step; ``operations`` are used if the Job must be created."""
    source_name = iteration.obj["spec"].get("sourcePVC") or ""

    async def data() -> JsonObject:
        source_pvc = await _require_claim(iteration, source_name, what="source PVC")
        return await _source_data_claim(iteration, source_pvc)

    try:
        return iteration.mover.settle(await _run_job(iteration, data, operations=operations))
    except StepWaitingError as waiting:
        return waiting.result


async def synchronize_destination(iteration: Iteration) -> base.SyncState:
    """Run one restore iteration step; on success also publish the image."""
    spec = iteration.spec
    try:
        data = await _destination_data_claim(iteration, spec)

        async def claim() -> JsonObject:
            return data

        operations = iteration.mover.restore_operations()
        result = await _run_job(iteration, claim, operations=operations)
        if _repository_missing(result):
            # A new app: no repository yet. The (empty) volume is published, and the status
            # and events say why it is empty; a restore never creates the repository.
            result = dataclasses.replace(result, phase=base.Phase.COMPLETED)
        if result.phase is not base.Phase.COMPLETED or _backups_left_out(result):
            return result
        image = await _ensure_image(iteration, spec, data)
        return dataclasses.replace(result, image=image)
    except StepWaitingError as waiting:
        return waiting.result


def _backups_left_out(result: base.SyncState) -> bool:
    """Return True when backups exist but restoreAsOf/previous excluded them all.

    Then nothing is published: an empty volume must never stand in for an existing backup.
    """
    outcome = result.mover_result
    return (
        outcome is not None
        and outcome.outcome is contract.Outcome.NO_ELIGIBLE_SNAPSHOT
        and outcome.snapshots_found > 0
    )


def _repository_missing(result: base.SyncState) -> bool:
    outcome = result.mover_result
    return (
        result.phase is base.Phase.FAILED
        and outcome is not None
        and outcome.error_kind is contract.ErrorKind.REPOSITORY_MISSING
    )


async def cleanup(iteration: Iteration) -> None:
    """Delete the Job and every temporary object of this owner; remove the snapshot marker."""
    await iteration.kube.delete(
        Kind.JOB,
        names.mover_job(iteration.role, iteration.owner.name),
        namespace=iteration.namespace,
    )
    labels = {metadata.CLEANUP_LABEL: iteration.owner.uid}
    for kind in (Kind.CLAIM, Kind.VOLUME_SNAPSHOT):
        for item in await iteration.kube.list(kind, namespace=iteration.namespace, labels=labels):
            await _delete_temporary(iteration, kind, item)
    if iteration.role is names.Role.DESTINATION:
        await _forget_image_name(iteration)


async def _delete_temporary(iteration: Iteration, kind: Kind, item: Mapping[str, Any]) -> None:
    labels = item["metadata"].get("labels") or {}
    name = item["metadata"]["name"]
    if metadata.DO_NOT_DELETE_LABEL in labels:
        patch = {"metadata": {"labels": {metadata.CLEANUP_LABEL: None}}}
        await iteration.kube.patch(kind, name, patch, namespace=iteration.namespace)
        return
    await iteration.kube.delete(kind, name, namespace=iteration.namespace)


# --- the data volume ---------------------------------------------------------------------


async def _require_claim(iteration: Iteration, name: str, *, what: str) -> JsonObject:
    claim = await iteration.get(Kind.CLAIM, name) if name else None
    if claim is None:
        # A configuration error like a missing Secret key: no mover starts, so none waits for
        # a mover slot; the operator looks again in a minute.
        raise StepWaitingError(
            base.SyncState.invalid(
                REASON_INVALID,
                f"the {what} {name!r} does not exist in namespace {iteration.namespace}; "
                "create it or fix the name",
            )
        )
    return claim


async def _source_data_claim(iteration: Iteration, source_pvc: JsonObject) -> JsonObject:
    match defaults.copy_method(iteration.spec):
        case "Clone":
            planned = volumes.clone_claim(iteration.owner, source=source_pvc, spec=iteration.spec)
            return await _ensure(iteration, planned)
        case "Snapshot":
            return await _claim_from_snapshot(iteration, source_pvc)
        case _:
            return source_pvc


async def _claim_from_snapshot(iteration: Iteration, source_pvc: JsonObject) -> JsonObject:
    planned = volumes.source_snapshot(
        iteration.owner, source_name=source_pvc["metadata"]["name"], spec=iteration.spec
    )
    snapshot = await _ensure(iteration, planned)
    if not volumes.snapshot_ready(snapshot):
        await _snapshot_not_ready(iteration, snapshot, what="of the source")
    claim = volumes.claim_from_snapshot(
        iteration.owner, snapshot=snapshot, source=source_pvc, spec=iteration.spec
    )
    return await _ensure(iteration, claim)


async def _snapshot_not_ready(
    iteration: Iteration, snapshot: Mapping[str, Any], *, what: str
) -> NoReturn:
    """Wait for the snapshot; past the volume timeout, delete it and fail the iteration."""
    name = snapshot["metadata"]["name"]
    error = volumes.snapshot_error(snapshot)
    detail = f" (the snapshotter says: {error})" if error else ""
    if volumes.waited_longer_than(snapshot, iteration.volume_timeout, now=iteration.now):
        await iteration.kube.delete(Kind.VOLUME_SNAPSHOT, name, namespace=iteration.namespace)
        raise StepWaitingError(
            base.SyncState.timed_out(
                SNAPSHOT_NOT_READY,
                f"VolumeSnapshot {name} {what} was not ready after "
                f"{_timeout_text(iteration)}{detail}; it was deleted",
            )
        )
    raise StepWaitingError(
        base.SyncState.waiting(
            REASON_VOLUME_NOT_READY,
            f"waiting for VolumeSnapshot {name} {what} to be ready{detail}",
            retry_after=2,
        )
    )


def _timeout_text(iteration: Iteration) -> str:
    return f"{durations.format_duration(iteration.volume_timeout)} (--volume-timeout)"


async def _destination_data_claim(iteration: Iteration, spec: protocol.EngineSpec) -> JsonObject:
    selection = _restore_selection(spec)
    if selection.destination_pvc:
        return await _require_claim(iteration, selection.destination_pvc, what="destinationPVC")
    temporary = bool(selection.cleanup_temp_pvc)
    planned = volumes.destination_claim(iteration.owner, spec=spec, temporary=temporary)
    return await _ensure(iteration, planned)


def _restore_selection(spec: protocol.EngineSpec) -> destination.RestoreSelection:
    """What every engine's destination section has (an empty one for a source's section)."""
    if isinstance(spec, destination.RestoreSelection):
        return spec
    return destination.RestoreSelection()


async def _ensure(iteration: Iteration, planned: JsonObject) -> JsonObject:
    """Return the existing object named like ``planned``, creating it first if needed."""
    kind = kube_client.kind_of(planned)
    existing = await iteration.get(kind, planned["metadata"]["name"])
    if existing is not None:
        _not_being_deleted(existing)
        return existing
    created = await iteration.kube.create(planned)
    await iteration.kube.event(
        iteration.obj,
        type_="Normal",
        reason=f"{planned['kind']}Created",
        action=f"Create{planned['kind']}",
        note=f"created {planned['kind']}/{planned['metadata']['name']}",
        related=created,
    )
    return created


# --- identity, secret, job ----------------------------------------------------------------


def _not_being_deleted(obj: Mapping[str, Any]) -> None:
    """Wait while an object of the previous iteration (same name) is still being deleted.

    A sync that starts right after the last one ended (no trigger, or a new manual trigger)
    would otherwise take the old snapshot or PVC, which then disappears under its mover.
    """
    meta = obj["metadata"]
    if meta.get("deletionTimestamp"):
        raise StepWaitingError(
            base.SyncState.waiting(
                REASON_VOLUME_NOT_READY,
                f"waiting for the previous {obj.get('kind', 'object')} {meta['name']} "
                "to be deleted",
                retry_after=1,
            )
        )


async def _run_job(
    iteration: Iteration,
    data: Callable[[], Awaitable[JsonObject]],
    *,
    operations: tuple[contract.Operation, ...],
) -> base.SyncState:
    """Follow the mover Job, creating it first (with the volume ``data`` gives) if needed.

    Once the Job exists, the data volume is not looked up again: the Job is fixed at creation.
    """
    job_name = names.mover_job(iteration.role, iteration.owner.name)
    job = await iteration.get(Kind.JOB, job_name)
    if job is not None:
        _not_being_deleted(job)
    else:
        claim = await data()
        plan = await job_plan_for(iteration, claim, job_name=job_name, operations=operations)
        job = await iteration.kube.create(job_plan.mover_job(plan, iteration.settings))
        logger.info("[%s] created Job %s running %s", iteration.owner.key, job_name, operations)
    return await _job_state(iteration, job)


async def job_plan_for(
    iteration: Iteration,
    data: JsonObject,
    *,
    job_name: str,
    operations: tuple[contract.Operation, ...],
) -> job_plan.JobPlan:
    """Return the plan of a Job of this object's mover on the claim ``data`` (its own sync's,
    or a restore drill's scratch claim), creating the mover's identity and cache if missing."""
    spec = iteration.spec
    data_modes = data["spec"].get("accessModes") or ["ReadWriteOnce"]
    cache = volumes.cache_claim(
        iteration.owner,
        role=iteration.role,
        spec=spec,
        data_access_modes=data_modes,
        temporary=bool(_restore_selection(spec).cleanup_cache_pvc),
    )
    privileged = await _privileged(iteration)
    _check_identity(iteration, privileged=privileged)
    _, account, secret_keys, _, (selector, tolerations) = await _together(
        _ensure(iteration, cache),
        _ensure_identity(iteration, privileged=privileged),
        _secret_keys(iteration),
        _check_references(iteration),
        _direct_affinity(iteration, data),
    )
    return job_plan.JobPlan(
        owner=iteration.owner,
        name=job_name,
        service_account=account,
        operations=operations,
        spec=spec,
        mover=iteration.mover,
        data_claim=data["metadata"]["name"],
        data_read_only=_read_only(data),
        cache_claim=cache["metadata"]["name"],
        secret_name=spec.repository or "",
        secret_keys=secret_keys,
        privileged=privileged,
        debug="volsync.backube/enable-debug-mover"
        in (iteration.obj["metadata"].get("annotations") or {}),
        node_selector=selector,
        tolerations=tolerations,
        guard_environment=iteration.guard_environment,
    )


async def _together(*steps: Awaitable[Any]) -> list[Any]:
    """Run independent steps at once (their requests overlap); return their results in order.

    When steps fail, the first failure in the order given is raised, so the message a user sees
    does not depend on which request came back first.
    """
    results = await asyncio.gather(*steps, return_exceptions=True)
    for item in results:
        if isinstance(item, BaseException):
            raise item
    return results


def _read_only(claim: Mapping[str, Any]) -> bool:
    modes = (claim.get("status") or {}).get("accessModes") or claim["spec"].get("accessModes")
    return list(modes or []) == ["ReadOnlyMany"]


async def _privileged(iteration: Iteration) -> bool:
    namespace = await iteration.kube.get(Kind.NAMESPACE, iteration.namespace)
    annotations = (namespace or {}).get("metadata", {}).get("annotations") or {}
    return str(annotations.get(metadata.PRIVILEGED_MOVERS_ANNOTATION, "")).lower() == "true"


def _check_identity(iteration: Iteration, *, privileged: bool) -> None:
    """Refuse a root mover outside opted-in namespaces (its pod could never start)."""
    if privileged or not security.root_requested(iteration.spec.mover_security_context):
        return
    raise StepWaitingError(
        base.SyncState.invalid(
            REASON_INVALID,
            f"{iteration.field}.moverSecurityContext.runAsUser is 0 (root), which movers get "
            f"only in a namespace annotated {metadata.PRIVILEGED_MOVERS_ANNOTATION}: "
            f'"true"; annotate namespace {iteration.namespace} or choose another user',
        )
    )


async def _ensure_identity(iteration: Iteration, *, privileged: bool) -> str:
    account = iteration.spec.mover_service_account
    if account:
        if await iteration.get(Kind.SERVICE_ACCOUNT, account) is None:
            raise StepWaitingError(
                base.SyncState.invalid(
                    REASON_INVALID,
                    f"{iteration.field}.moverServiceAccount {account!r} does not exist in "
                    f"namespace {iteration.namespace}; create it or remove the field",
                )
            )
        return account
    name = names.service_account(iteration.role, iteration.owner.name)
    await _together(
        _ensure(iteration, rbac.service_account(iteration.owner, name)),
        _ensure(iteration, rbac.role(iteration.owner, name, privileged=privileged)),
    )
    # After its Role: binding a Role that does not exist yet needs the "bind" permission.
    await _ensure(iteration, rbac.role_binding(iteration.owner, name))
    return name


async def _secret_keys(iteration: Iteration) -> frozenset[str]:
    name = iteration.spec.repository or ""
    secret = await iteration.get(Kind.SECRET, name) if name else None
    required = iteration.mover.required_secret_keys
    needs = " and ".join(required)
    if secret is None and not name:
        raise StepWaitingError(
            base.SyncState.invalid(
                REASON_INVALID,
                f"{iteration.field}.repository names no Secret"
                + (f": {iteration.repository_note}" if iteration.repository_note else ""),
            )
        )
    if secret is None:
        raise StepWaitingError(
            base.SyncState.invalid(
                REASON_INVALID,
                f"the repository Secret {name!r} ({iteration.field}.repository) does not exist "
                f"in namespace {iteration.namespace}; create it with keys {needs}",
            )
        )
    keys = frozenset((secret.get("data") or {}).keys())
    for key in required:
        if key not in keys:
            raise StepWaitingError(
                base.SyncState.invalid(
                    REASON_INVALID,
                    f"the repository Secret {name!r} has no key {key}; add it "
                    f"(the Secret needs {needs})",
                )
            )
    return keys


async def _check_references(iteration: Iteration) -> None:
    """Fail clearly when the custom CA or a mover volume points at nothing."""
    ca = iteration.spec.custom_ca
    if ca is not None and ca.key:
        kind, name = (
            (Kind.SECRET, ca.secret_name)
            if ca.secret_name
            else (Kind.CONFIG_MAP, ca.config_map_name)
        )
        found = await iteration.get(kind, name or "") if name else None
        data = (found or {}).get("data") or {}
        if ca.key not in data:
            raise StepWaitingError(
                base.SyncState.invalid(
                    REASON_INVALID,
                    f"{iteration.field}.customCA: {kind.value.__name__} {name!r} with key "
                    f"{ca.key!r} not found; create it or fix customCA",
                )
            )
    for item in iteration.spec.mover_volumes or []:
        await _check_mover_volume(iteration, item.volume_source.to_dict())


async def _check_mover_volume(iteration: Iteration, volume_source: Mapping[str, Any]) -> None:
    claim = (volume_source.get("persistentVolumeClaim") or {}).get("claimName")
    secret = (volume_source.get("secret") or {}).get("secretName")
    for kind, name in ((Kind.CLAIM, claim), (Kind.SECRET, secret)):
        if name and await iteration.get(kind, name) is None:
            raise StepWaitingError(
                base.SyncState.invalid(
                    REASON_INVALID,
                    f"{iteration.field}.moverVolumes: {kind.value.__name__} {name!r} "
                    "does not exist",
                )
            )


async def _direct_affinity(
    iteration: Iteration, data: JsonObject
) -> tuple[dict[str, str] | None, list[JsonObject]]:
    """For copyMethod Direct on a single-node volume, run where the app's pod runs."""
    if defaults.copy_method(iteration.spec) != "Direct":
        return None, []
    if "ReadWriteMany" in ((data.get("status") or {}).get("accessModes") or []):
        return None, []
    pod = await pod_using_claim(iteration.kube, iteration.namespace, data["metadata"]["name"])
    node_name = (pod or {}).get("spec", {}).get("nodeName")
    if not node_name:
        return None, []
    node = await iteration.kube.get(Kind.NODE, node_name)
    hostname = ((node or {}).get("metadata", {}).get("labels") or {}).get(HOSTNAME_LABEL, node_name)
    tolerations = list((pod or {}).get("spec", {}).get("tolerations") or [])
    return {HOSTNAME_LABEL: hostname}, tolerations


async def pod_using_claim(kube: kube_client.Kube, namespace: str, claim: str) -> JsonObject | None:
    """Return the app's pod that mounts ``claim`` (a running one first), not one of ours."""
    candidates: list[JsonObject] = []
    for pod in await kube.list(Kind.POD, namespace=namespace):
        labels = pod["metadata"].get("labels") or {}
        if labels.get(metadata.CREATED_BY_LABEL) == metadata.CREATED_BY_VALUE:
            continue
        claims = {
            (volume.get("persistentVolumeClaim") or {}).get("claimName")
            for volume in pod["spec"].get("volumes") or []
        }
        if claim in claims and (pod.get("status") or {}).get("phase") in ("Running", "Pending"):
            candidates.append(pod)
    candidates.sort(key=lambda pod: pod["status"].get("phase") != "Running")
    return candidates[0] if candidates else None


# --- reading how the Job went ---------------------------------------------------------------


def job_condition(job: Mapping[str, Any], type_: str) -> bool:
    """Whether the Job has condition ``type_`` with status True."""
    return any(
        item.get("type") == type_ and item.get("status") == "True"
        for item in (job.get("status") or {}).get("conditions") or []
    )


async def _job_state(iteration: Iteration, job: JsonObject) -> base.SyncState:
    operations = job_plan.planned_operations(job)
    if job_condition(job, "Complete") or job_condition(job, "SuccessCriteriaMet"):
        return await _finished(iteration, job, operations=operations, succeeded=True)
    if job_condition(job, "Failed") or job_condition(job, "FailureTarget"):
        if not job_condition(job, "Failed") and (job.get("status") or {}).get("active"):
            return base.SyncState.waiting("SyncInProgress", "the mover is stopping")
        return await _finished(iteration, job, operations=operations, succeeded=False)
    failed = int((job.get("status") or {}).get("failed") or 0)
    message = "the mover is running"
    if failed:
        attempt = await _latest_pod(iteration, job, phase="Failed")
        result = pod_result(attempt) if attempt else None
        message = f"attempt {failed} failed ({_describe(result)}); the Job retries"
        return dataclasses.replace(
            base.SyncState.waiting("SyncInProgress", message),
            pending_failure=result,
            failed_attempts=failed,
        )
    running = await _latest_pod(iteration, job, phase="Running")
    if running is None:
        unbound = await _unbound_claims(iteration, job)
        if unbound:
            return await _claims_not_bound(iteration, job, unbound)
    progress = await _progress(iteration, running) if running else None
    return dataclasses.replace(
        base.SyncState.waiting(
            "SyncInProgress",
            message,
            retry_after=float(iteration.settings.progress_interval_seconds),
        ),
        progress=progress,
    )


async def _unbound_claims(iteration: Iteration, job: Mapping[str, Any]) -> list[JsonObject]:
    """Return the PVCs the Job mounts that are not bound (a missing one counts)."""
    unbound = []
    for name in volumes.claims_of(job):
        claim = await iteration.get(Kind.CLAIM, name)
        if claim is None:
            unbound.append({"metadata": {"name": name}, "spec": {}})
        elif not volumes.claim_bound(claim):
            unbound.append(claim)
    return unbound


async def _claims_not_bound(
    iteration: Iteration, job: Mapping[str, Any], claims: list[JsonObject]
) -> base.SyncState:
    """Wait for the claims; once the Job has waited past the volume timeout, fail the iteration.

    The claims this object created (a copy, the cache, a new destination volume) are deleted,
    so the next attempt starts over; a user's claim is left alone.
    """
    described = ", ".join(_describe_claim(claim) for claim in claims)
    if not volumes.waited_longer_than(job, iteration.volume_timeout, now=iteration.now):
        return base.SyncState.waiting(
            REASON_VOLUME_NOT_READY, f"waiting for {described} to be bound", retry_after=5
        )
    deleted = []
    for claim in claims:
        if metadata.is_owned_by(claim, iteration.owner):
            name = claim["metadata"]["name"]
            await iteration.kube.delete(Kind.CLAIM, name, namespace=iteration.namespace)
            deleted.append(name)
    return base.SyncState.timed_out(
        VOLUME_NOT_BOUND,
        f"{described} not bound after {_timeout_text(iteration)}"
        + (f"; deleted {', '.join(deleted)}" if deleted else ""),
    )


def _describe_claim(claim: Mapping[str, Any]) -> str:
    name = claim["metadata"]["name"]
    storage_class = claim["spec"].get("storageClassName")
    suffix = f" (storage class {storage_class})" if storage_class else ""
    return f"PersistentVolumeClaim {name}{suffix}"


async def _progress(iteration: Iteration, pod: JsonObject) -> contract.Progress | None:
    """Return the newest progress line of the running mover, if it printed one."""
    log = await iteration.kube.pod_log(
        pod["metadata"]["name"],
        namespace=iteration.namespace,
        container=mover_container(pod),
        tail_lines=20,
    )
    found = [contract.parse_progress(line) for line in log.splitlines()]
    latest = [item for item in found if item is not None]
    return latest[-1] if latest else None


def _describe(result: contract.MoverResult | None) -> str:
    if result is None:
        return "no result"
    return f"{result.error_kind or result.outcome}: {result.message}"


async def _finished(
    iteration: Iteration,
    job: JsonObject,
    *,
    operations: tuple[contract.Operation, ...],
    succeeded: bool,
) -> base.SyncState:
    pod = await _latest_pod(iteration, job, phase="Succeeded" if succeeded else "Failed")
    result = pod_result(pod) if pod else None
    if result is None:
        outcome = contract.Outcome.SUCCEEDED if succeeded else contract.Outcome.FAILED
        result = contract.MoverResult(
            outcome=outcome,
            error_kind=None if succeeded else contract.ErrorKind.RESTIC_FAILED,
            message="" if succeeded else "the mover ended without a result document",
        )
    log = ""
    if pod is not None:
        log = await iteration.kube.pod_log(
            pod["metadata"]["name"],
            namespace=iteration.namespace,
            container=mover_container(pod),
        )
    ok = succeeded and result.outcome.ok
    return base.SyncState(
        phase=base.Phase.COMPLETED if ok else base.Phase.FAILED,
        mover_result=result,
        operations=operations,
        logs=logfilter.summarize(log, succeeded=ok),
        ended_at=job_ended(job),
    )


def job_ended(job: Mapping[str, Any]) -> datetime.datetime | None:
    """When a finished Job ended: its completionTime, else when its Failed condition was set."""
    status = job.get("status") or {}
    if status.get("completionTime"):
        return parse_time(status["completionTime"])
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            return parse_time(condition.get("lastTransitionTime"))
    return None


async def _latest_pod(iteration: Iteration, job: JsonObject, *, phase: str) -> JsonObject | None:
    return await latest_pod(iteration.kube, job, phase=phase)


async def latest_pod(kube: kube_client.Kube, job: JsonObject, *, phase: str) -> JsonObject | None:
    """The newest pod of ``job`` in ``phase`` (Running, Succeeded, Failed), or None."""
    uid = job["metadata"].get("uid", "")
    pods = await kube.list(
        Kind.POD,
        namespace=job["metadata"]["namespace"],
        labels={"batch.kubernetes.io/controller-uid": uid},
    )
    matching = [pod for pod in pods if (pod.get("status") or {}).get("phase") == phase]
    matching.sort(key=lambda pod: pod["metadata"].get("creationTimestamp", ""))
    return matching[-1] if matching else None


def mover_container(pod: Mapping[str, Any]) -> str:
    """Return the name of a mover pod's container (its first; the engine named it)."""
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return str(containers[0].get("name", ""))


def pod_result(pod: Mapping[str, Any]) -> contract.MoverResult | None:
    """The mover's result document from the pod's termination message (or its exit code)."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") != mover_container(pod):
            continue
        terminated = (status.get("state") or {}).get("terminated") or {}
        message = terminated.get("message") or ""
        try:
            return contract.MoverResult.from_json(message)
        except contract.ResultDocumentError:
            code = terminated.get("exitCode")
            return contract.MoverResult(
                outcome=contract.Outcome.FAILED if code else contract.Outcome.SUCCEEDED,
                error_kind=contract.ErrorKind.RESTIC_FAILED if code else None,
                message=f"the mover exited with code {code} without a result document"
                if code
                else "",
            )
    return None


# --- a destination's image ------------------------------------------------------------------


async def _ensure_image(
    iteration: Iteration, spec: protocol.EngineSpec, data: JsonObject
) -> JsonObject:
    claim_name = data["metadata"]["name"]
    if defaults.copy_method(spec) != "Snapshot":
        return {"apiGroup": "", "kind": "PersistentVolumeClaim", "name": claim_name}
    annotations = data["metadata"].get("annotations") or {}
    snapshot_name = annotations.get(volumes.SNAPSHOT_NAME_ANNOTATION)
    if not snapshot_name:
        snapshot_name = volumes.image_snapshot_name(claim_name, iteration.now)
        patch = {"metadata": {"annotations": {volumes.SNAPSHOT_NAME_ANNOTATION: snapshot_name}}}
        await iteration.kube.patch(Kind.CLAIM, claim_name, patch, namespace=iteration.namespace)
    planned = volumes.image_snapshot(
        iteration.owner, name=snapshot_name, claim_name=claim_name, spec=spec
    )
    snapshot = await _ensure(iteration, planned)
    if not (snapshot.get("status") or {}).get("readyToUse"):
        await _snapshot_not_ready(iteration, snapshot, what="of the restored data")
    return {"apiGroup": volumes.SNAPSHOT_GROUP, "kind": "VolumeSnapshot", "name": snapshot_name}


async def _forget_image_name(iteration: Iteration) -> None:
    chosen = _restore_selection(iteration.spec).destination_pvc
    claim_name = chosen or names.destination_claim(iteration.owner.name)
    claim = await iteration.get(Kind.CLAIM, claim_name)
    annotations = (claim or {}).get("metadata", {}).get("annotations") or {}
    if volumes.SNAPSHOT_NAME_ANNOTATION in annotations:
        patch = {"metadata": {"annotations": {volumes.SNAPSHOT_NAME_ANNOTATION: None}}}
        await iteration.kube.patch(Kind.CLAIM, claim_name, patch, namespace=iteration.namespace)
