"""Reconcile one KopiaMaintenance: exactly one maintenance owner per repository, on its schedule.

kopia frees space and compacts indexes only through maintenance, and two clients collecting
garbage in one repository at once can lose data. So among the KopiaMaintenance objects whose
Secrets name the same repository (the same ``KOPIA_REPOSITORY``), only the oldest runs; the
others say which object maintains their repository and run nothing. The one that runs starts a
Job (``movers.kopia.maintenance``) when its schedule or a new manual trigger says so, reads how
it ended from the mover's result, records it in status, events and the next time, and deletes
the Job. State is derived from status and the Job, as for the other objects.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime
import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal

import pydantic

from pyvolsync import contract
from pyvolsync.api import common, conditions, defaults, maintenance, source, validation
from pyvolsync.api.timestamps import parse_time
from pyvolsync.controller import schedule
from pyvolsync.kube import client as kube_client
from pyvolsync.movers import iteration, jobs
from pyvolsync.movers.kopia import engine as kopia_engine
from pyvolsync.movers.kopia import maintenance as maintenance_job

logger = logging.getLogger(__name__)

Kind = kube_client.Kind
JsonObject = dict[str, Any]
CONDITION = "Ready"
REASON_SCHEDULED = "Scheduled"
REASON_RUNNING = "MaintenanceRunning"
REASON_SUSPENDED = "Suspended"
REASON_OWNED_ELSEWHERE = "MaintainedByAnotherObject"
REASON_FAILED = "MaintenanceFailed"
REASON_ERROR = "Error"
CHECK_AGAIN_SECONDS = 300.0
RUNNING_CHECK_SECONDS = 10.0


@dataclasses.dataclass
class Run:
    """One reconcile of one KopiaMaintenance: the object, its status being edited, the clock."""

    obj: JsonObject
    spec: maintenance.KopiaMaintenanceSpec
    status: maintenance.KopiaMaintenanceStatus
    now: datetime.datetime
    events: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    def condition(self, status: Literal["True", "False"], reason: str, message: str) -> None:
        current = list(self.status.conditions or [])
        previous = conditions.find_condition(current, CONDITION)
        changed = previous is None or (previous.reason, previous.message) != (reason, message)
        if changed and reason in (REASON_ERROR, REASON_OWNED_ELSEWHERE):
            self.events.append(("Warning", reason, message))
        condition = common.Condition(
            type=CONDITION,
            status=status,
            reason=reason,
            message=message,
            last_transition_time=self.now,
        )
        self.status.conditions = conditions.set_condition(current, condition, now=self.now)


class MaintenanceReconciler:
    """Reconciles KopiaMaintenance objects."""

    def __init__(
        self,
        kube: kube_client.Kube,
        *,
        settings: jobs.JobSettings,
        timezone: datetime.tzinfo = datetime.UTC,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self.kube = kube
        self.settings = settings
        self.timezone = timezone
        self.clock = clock

    async def reconcile(self, namespace: str, name: str) -> float | None:
        """Reconcile one object; return the seconds until it wants another look."""
        obj = await self.kube.get(Kind.KOPIA_MAINTENANCE, name, namespace=namespace)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return None
        run = self._start_run(obj)
        if run is None:
            return CHECK_AGAIN_SECONDS
        before = run.status.to_dict()
        wake = await self._advance(run)
        await self._write(run, before)
        return wake

    def _start_run(self, obj: JsonObject) -> Run | None:
        try:
            model = maintenance.KopiaMaintenance.model_validate(obj)
        except pydantic.ValidationError:
            model = maintenance.KopiaMaintenance.model_validate({**obj, "status": None})
        if model.spec is None:
            return None
        status = (model.status or maintenance.KopiaMaintenanceStatus()).model_copy(deep=True)
        return Run(obj=obj, spec=model.spec, status=status, now=self.clock())

    async def _write(self, run: Run, before: JsonObject) -> None:
        after = run.status.to_dict()
        if after != before:
            await self.kube.patch(
                Kind.KOPIA_MAINTENANCE, run.name, {"status": after}, namespace=run.namespace,
                status=True,
            )  # fmt: skip
        for type_, reason, note in run.events:
            await self.kube.event(run.obj, type_=type_, reason=reason, action="Maintain", note=note)

    async def _advance(self, run: Run) -> float | None:
        generation = run.obj["metadata"].get("generation")
        if isinstance(generation, int):
            run.status.observed_generation = generation
        run.status.last_reconcile_time = run.now
        problems = validation.validate_maintenance(run.obj)
        if problems:
            run.condition("False", REASON_ERROR, "; ".join(str(item) for item in problems))
            return CHECK_AGAIN_SECONDS
        job = await self.kube.get(
            Kind.JOB, maintenance_job.job_name(run.name), namespace=run.namespace
        )
        if job is not None:
            return await self._follow(run, job)
        if not defaults.maintenance_enabled(run.spec) or run.spec.suspend:
            run.status.next_scheduled_maintenance = None
            run.condition("False", REASON_SUSPENDED, "maintenance is disabled or suspended")
            return None
        secret = await self._secret(run)
        if secret is None:
            return CHECK_AGAIN_SECONDS
        owner = await self._owner(run, secret)
        if owner is not None:
            run.status.next_scheduled_maintenance = None
            run.condition(
                "False",
                REASON_OWNED_ELSEWHERE,
                f"KopiaMaintenance {owner} maintains this repository (it is older); this one "
                "runs nothing while that one exists",
            )
            return CHECK_AGAIN_SECONDS
        return await self._schedule(run, secret)

    async def _secret(self, run: Run) -> JsonObject | None:
        name = run.spec.repository.repository
        secret = await self.kube.get(Kind.SECRET, name, namespace=run.namespace)
        keys = set((secret or {}).get("data") or {})
        missing = [key for key in kopia_engine.REQUIRED_SECRET_KEYS if key not in keys]
        if secret is None or missing:
            what = "does not exist" if secret is None else f"has no key {', '.join(missing)}"
            run.condition(
                "False",
                REASON_ERROR,
                f"the repository Secret {name!r} (spec.repository.repository) {what} in "
                f"namespace {run.namespace}",
            )
            return None
        return secret

    async def _owner(self, run: Run, secret: Mapping[str, Any]) -> str | None:
        """The namespace/name of an older enabled KopiaMaintenance of the same repository."""
        mine = _repository_of(secret)
        older: list[tuple[str, str]] = []
        for other in await self.kube.list(Kind.KOPIA_MAINTENANCE):
            meta = other["metadata"]
            if meta["uid"] == run.obj["metadata"]["uid"] or not _active(other):
                continue
            if _age_key(other) >= _age_key(run.obj):
                continue
            name = ((other.get("spec") or {}).get("repository") or {}).get("repository") or ""
            found = await self.kube.get(Kind.SECRET, name, namespace=meta["namespace"])
            if found is not None and _repository_of(found) == mine:
                older.append((_age_key(other), f"{meta['namespace']}/{meta['name']}"))
        return min(older)[1] if older else None

    async def _writers(self, secret: Mapping[str, Any]) -> tuple[str, ...]:
        """``user@host`` of every kopia ReplicationSource writing this Secret's repository."""
        mine = _repository_of(secret)
        found: list[str] = []
        for item in await self.kube.list(Kind.REPLICATION_SOURCE):
            meta, section = item["metadata"], (item.get("spec") or {}).get("kopia")
            if not isinstance(section, dict) or not section.get("repository"):
                continue
            other = await self.kube.get(
                Kind.SECRET, section["repository"], namespace=meta["namespace"]
            )
            if other is None or _repository_of(other) != mine:
                continue
            with contextlib.suppress(pydantic.ValidationError):
                parsed = source.KopiaSourceSpec.model_validate(section)
                username, hostname, _ = kopia_engine.identity(
                    parsed, owner_name=meta["name"], owner_namespace=meta["namespace"]
                )
                found.append(f"{username}@{hostname}")
        return tuple(found)

    async def _schedule(self, run: Run, secret: Mapping[str, Any]) -> float | None:
        trigger = run.spec.trigger
        manual = trigger.manual if trigger is not None else None
        if manual is not None:
            run.status.next_scheduled_maintenance = None
            if manual == run.status.last_manual_sync:
                run.condition("True", REASON_SCHEDULED, "waiting for a new manual trigger")
                return None
            return await self._start(run, secret)
        expression = defaults.maintenance_schedule(run.spec) or ""
        rule = schedule.Schedule(
            expression=expression, timezone=self.timezone, jitter_window=datetime.timedelta(0)
        )
        created = parse_time(run.obj["metadata"].get("creationTimestamp")) or run.now
        # After a failure the next run waits for the next scheduled time (no retry loop): the
        # failed condition's transition time counts as the last run.
        after = max(
            filter(None, (run.status.last_maintenance_time, _failed_at(run), created)),
        )
        due = schedule.next_fire_time(rule, after=after, key=f"{run.namespace}/{run.name}")
        if due <= run.now:
            return await self._start(run, secret)
        run.status.next_scheduled_maintenance = due
        run.condition("True", REASON_SCHEDULED, f"next maintenance at {due.isoformat()}")
        return max((due - run.now).total_seconds(), 1.0)

    async def _start(self, run: Run, secret: Mapping[str, Any]) -> float:
        planned = maintenance_job.maintenance_job(
            run.obj,
            run.spec,
            secret_keys=frozenset((secret.get("data") or {}).keys()),
            settings=self.settings,
            takeover_from=await self._writers(secret),
        )
        await self.kube.create(planned)
        logger.info("[%s/%s] started maintenance", run.namespace, run.name)
        run.condition("True", REASON_RUNNING, "maintenance is running")
        return RUNNING_CHECK_SECONDS

    async def _follow(self, run: Run, job: JsonObject) -> float | None:
        succeeded = iteration.job_condition(job, "Complete")
        if not succeeded and not iteration.job_condition(job, "Failed"):
            run.condition("True", REASON_RUNNING, "maintenance is running")
            return RUNNING_CHECK_SECONDS
        pod = await iteration.latest_pod(
            self.kube, job, phase="Succeeded" if succeeded else "Failed"
        )
        result = iteration.pod_result(pod) if pod else None
        ended = iteration.job_ended(job) or run.now
        trigger = run.spec.trigger
        if trigger is not None and trigger.manual is not None:
            run.status.last_manual_sync = trigger.manual
        if succeeded and (result is None or result.outcome.ok):
            self._succeeded(run, ended)
        else:
            self._failed(run, result)
        await self.kube.delete(Kind.JOB, job["metadata"]["name"], namespace=run.namespace)
        return 1.0

    def _succeeded(self, run: Run, ended: datetime.datetime) -> None:
        run.status.last_maintenance_time = ended
        run.status.maintenance_failures = None
        run.events.append(("Normal", "MaintenanceCompleted", "kopia maintenance completed"))
        run.condition("True", REASON_SCHEDULED, "maintenance completed")

    def _failed(self, run: Run, result: contract.MoverResult | None) -> None:
        run.status.maintenance_failures = (run.status.maintenance_failures or 0) + 1
        kind = str(result.error_kind) if result and result.error_kind else "kopia-failed"
        message = result.message if result and result.message else "the maintenance Job failed"
        if kind == contract.ErrorKind.MAINTENANCE_NOT_OWNER:
            message += (
                f"; to make this object the owner, annotate it "
                f'{maintenance_job.TAKEOVER_ANNOTATION}="true"'
            )
        run.events.append(("Warning", REASON_FAILED, f"maintenance failed ({kind}): {message}"))
        run.condition("False", REASON_FAILED, f"{kind}: {message}")


def _failed_at(run: Run) -> datetime.datetime | None:
    current = conditions.find_condition(list(run.status.conditions or []), CONDITION)
    if current is None or current.reason != REASON_FAILED:
        return None
    return current.last_transition_time


def _repository_of(secret: Mapping[str, Any]) -> str:
    """The KOPIA_REPOSITORY value a Secret holds (compared, never logged or shown)."""
    encoded = ((secret.get("data") or {}).get("KOPIA_REPOSITORY")) or ""
    try:
        return base64.b64decode(encoded).decode(errors="replace").strip().rstrip("/")
    except ValueError:
        return ""


def _active(obj: Mapping[str, Any]) -> bool:
    spec = obj.get("spec") or {}
    return spec.get("enabled") is not False and not spec.get("suspend")


def _age_key(obj: Mapping[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta.get('creationTimestamp', '')}/{meta['namespace']}/{meta['name']}"
