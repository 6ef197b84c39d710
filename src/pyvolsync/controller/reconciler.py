"""Reconcile one ReplicationSource or ReplicationDestination: read, decide, act, write status once.

Level-triggered and restart-safe: everything is derived from the object and the cluster. A sync
is in progress while ``status.lastSyncStartTime`` is set; its Job is found by name; an iteration
whose status says ``CleaningUp`` still has temporary objects to delete. Each reconcile moves the
object as far as it can (start, run, complete, clean up, wait), then writes the status with one
merge patch, and returns when it wants to look again.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal

import pydantic
import tenacity

from pyvolsync import contract
from pyvolsync.api import common, conditions, destination, durations, source, validation
from pyvolsync.api.timestamps import parse_time
from pyvolsync.controller import drilling, hooking, notifications, schedule, slots, statemachine
from pyvolsync.controller import metrics as metrics_module
from pyvolsync.kube import client as kube_client
from pyvolsync.kube import errors as kube_errors
from pyvolsync.movers import base, hooksettings, iteration, jobs, protocol, registry
from pyvolsync.planning import guard, metadata, names

logger = logging.getLogger(__name__)

Kind = kube_client.Kind
JsonObject = dict[str, Any]
Model = source.ReplicationSource | destination.ReplicationDestination
Status = source.ReplicationSourceStatus | destination.ReplicationDestinationStatus

REASON_SOURCE_EMPTY = "SourceEmpty"
REASON_NO_ELIGIBLE_SNAPSHOT = "NoEligibleSnapshot"
REASON_REPOSITORY_MISSING = "RepositoryMissing"
REASON_REPOSITORY_DAMAGED = "RepositoryDamaged"
REASON_COMPLETED_WITH_WARNINGS = "TransferCompletedWithWarnings"
DEFAULT_CHECK_INTERVAL = datetime.timedelta(days=7)
HISTORY_LIMIT = 24
"""Finished syncs ``status.recentSyncs`` keeps: a day of hourly backups."""
ADOPT_RETRY_SECONDS = 0.5
"""The first wait before listing syncs in progress again at start-up (it doubles, up to 5 s)."""
REASON_CONFIGURATION_ERROR = "ConfigurationError"
REASON_ANOMALY = "BackupSuspicious"
REASON_ANOMALY_ACKNOWLEDGED = "AnomalyAcknowledged"
REASON_GUARD_MISCONFIGURED = "AnomalyGuardMisconfigured"
REASON_BY_ERROR_KIND = {
    contract.ErrorKind.RESTIC_FAILED: "MoverFailed",
    contract.ErrorKind.KOPIA_FAILED: "MoverFailed",
    contract.ErrorKind.CANCELLED: "MoverCancelled",
}
KIND_BY_ROLE = {
    names.Role.SOURCE: Kind.REPLICATION_SOURCE,
    names.Role.DESTINATION: Kind.REPLICATION_DESTINATION,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """How the operator runs movers and schedules syncs."""

    job: jobs.JobSettings
    policy: statemachine.Policy = dataclasses.field(default_factory=statemachine.Policy)
    max_movers: int = 0
    volume_timeout: datetime.timedelta = base.DEFAULT_VOLUME_TIMEOUT
    """How long an iteration waits for a snapshot to be ready or a PVC to bind."""
    check_interval: datetime.timedelta = DEFAULT_CHECK_INTERVAL
    """Time between verifications of a source's repository (zero: never)."""


def failure_reason(error_kind: str | None) -> str:
    """Return the condition reason of a failure kind: repository-locked -> RepositoryLocked."""
    if not error_kind:
        return "MoverFailed"
    try:
        return REASON_BY_ERROR_KIND[contract.ErrorKind(error_kind)]
    except (KeyError, ValueError):
        return "".join(word.capitalize() for word in error_kind.split("-"))


def _retriable(error: BaseException) -> bool:
    return isinstance(error, kube_errors.ApiFailureError) and error.retriable


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> JsonObject:
    """Return the JSON merge patch that turns ``old`` into ``new`` (nulls remove keys)."""
    patch: JsonObject = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            nested = merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif value != before:
            patch[key] = value
    return patch


@dataclasses.dataclass
class Run:
    """One reconcile of one object: the parsed object, its status being edited, the clock."""

    role: names.Role
    obj: JsonObject
    model: Model
    status: Status
    now: datetime.datetime
    requeue: float | None = None
    events: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    repository_note: str = ""
    """Why the engine could not complete its section from what it refers to (``resolve``)."""

    @property
    def owner(self) -> metadata.Owner:
        """Return the owner identity of the object."""
        return metadata.Owner.of(self.obj)

    @property
    def key(self) -> str:
        """Return ``namespace/name``."""
        return self.owner.key

    @property
    def identity(self) -> metrics_module.Identity:
        """Return the object's metric labels."""
        role = "source" if self.role is names.Role.SOURCE else "destination"
        engine = registry.engine_of(self.model.spec)
        method = engine[0].name if engine else metrics_module.DEFAULT_METHOD
        return metrics_module.Identity(self.owner.name, self.owner.namespace, role, method)

    def wake_in(self, seconds: float | None) -> None:
        """Ask to be reconciled again within ``seconds`` (the earliest request wins)."""
        if seconds is None:
            return
        seconds = max(seconds, 0.5)
        self.requeue = seconds if self.requeue is None else min(self.requeue, seconds)

    def condition(self, status: Literal["True", "False"], reason: str, message: str) -> None:
        """Set the Synchronizing condition."""
        condition = common.Condition(
            type=conditions.SYNCHRONIZING,
            status=status,
            reason=reason,
            message=message,
            last_transition_time=self.now,
        )
        current = list(self.status.conditions or [])
        self.status.conditions = conditions.set_condition(current, condition, now=self.now)

    def event(self, type_: str, reason: str, note: str) -> None:
        """Queue an event about the object, recorded after the status is written."""
        self.events.append((type_, reason, note))


def report_invalid(run: Run, message: str) -> None:
    """Set the Error condition; a Warning event says it once, not on every look at the object."""
    current = conditions.find_condition(list(run.status.conditions or []), conditions.SYNCHRONIZING)
    if current is None or (current.reason, current.message) != (conditions.REASON_ERROR, message):
        run.event("Warning", REASON_CONFIGURATION_ERROR, message)
    run.condition("False", conditions.REASON_ERROR, message)


class Reconciler:
    """Reconciles ReplicationSources and ReplicationDestinations, whatever their engine."""

    def __init__(
        self,
        kube: kube_client.Kube,
        *,
        settings: Settings,
        metrics: metrics_module.Metrics,
        wake: Callable[[names.Role, str], None],
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
        notify: notifications.NoticeSink = notifications.ignore,
    ) -> None:
        self.kube = kube
        self.notify = notify
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.slots = slots.MoverSlots(settings.max_movers, wake=self._wake_waiting)
        self._wake = wake
        self._waiting_roles: dict[str, names.Role] = {}
        self._reported_attempts: dict[str, int] = {}
        self.hooks = hooking.Hooks(hooking.runner(kube, wake))

    def _wake_waiting(self, key: str) -> None:
        role = self._waiting_roles.get(key)
        if role is not None:
            self._wake(role, key)

    async def adopt_running(self, *, attempts: int = 30) -> None:
        """Give a mover slot to every object whose status says a sync runs (at start-up).

        Retries while the API server is still coming up (e.g. CRDs just established).
        """
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(attempts),
            wait=tenacity.wait_exponential(multiplier=ADOPT_RETRY_SECONDS, max=5),
            retry=tenacity.retry_if_exception(_retriable),
            before_sleep=lambda state: logger.info(
                "listing syncs in progress failed (%s); retrying",
                state.outcome.exception() if state.outcome else "",
            ),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self._adopt_running()

    async def _adopt_running(self) -> None:
        for role, kind in KIND_BY_ROLE.items():
            for obj in await self.kube.list(kind):
                if (obj.get("status") or {}).get("lastSyncStartTime"):
                    meta = obj["metadata"]
                    self.slots.hold(f"{meta['namespace']}/{meta['name']}")
                    logger.info(
                        "[%s/%s] adopting the %s sync in progress",
                        meta["namespace"],
                        meta["name"],
                        role.name.lower(),
                    )
        self._update_slot_metrics()

    async def reconcile(self, role: names.Role, namespace: str, name: str) -> float | None:
        """Reconcile one object; return the seconds until it wants another look (None: never)."""
        kind = KIND_BY_ROLE[role]
        obj = await self.kube.get(kind, name, namespace=namespace)
        key = f"{namespace}/{name}"
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            self._forget(role, key, namespace=namespace, name=name)
            return None
        run = self._start_run(role, obj)
        if run is None:
            return None
        before = run.status.to_dict()
        await self._advance(run)
        if isinstance(run.status, source.ReplicationSourceStatus):
            hook_failed = self.metrics.hook_failed.labels(*run.identity.labels)
            hook_failed.set(hooking.failed(run.status))  # 0 for a source without hooks
        await self._write(run, kind, before)
        self._update_slot_metrics()
        return run.requeue

    def _forget(self, role: names.Role, key: str, *, namespace: str, name: str) -> None:
        self.slots.release(key)
        self._waiting_roles.pop(key, None)
        self._reported_attempts.pop(key, None)
        self.hooks.forget(key)
        label = "source" if role is names.Role.SOURCE else "destination"
        for method in registry.names():
            self.metrics.forget(metrics_module.Identity(name, namespace, label, method))
        self._update_slot_metrics()

    def _start_run(self, role: names.Role, obj: JsonObject) -> Run | None:
        model_type = (
            source.ReplicationSource
            if role is names.Role.SOURCE
            else destination.ReplicationDestination
        )
        status_type = (
            source.ReplicationSourceStatus
            if role is names.Role.SOURCE
            else destination.ReplicationDestinationStatus
        )
        try:
            model: Model = model_type.model_validate(obj)
            status = model.status or status_type()
        except pydantic.ValidationError:
            model = model_type.model_validate({**obj, "status": None})
            status = status_type()
        spec = model.spec
        if spec is not None and spec.external is not None and not spec.mover_sections():
            return None
        return Run(
            role=role, obj=obj, model=model, status=status.model_copy(deep=True), now=self.clock()
        )

    async def _write(self, run: Run, kind: Kind, before: JsonObject) -> None:
        patch = merge_patch(before, run.status.to_dict())
        meta = run.obj["metadata"]
        if patch:
            await self.kube.patch(
                kind, meta["name"], {"status": patch}, namespace=meta["namespace"], status=True
            )
        for type_, reason, note in run.events:
            await self.kube.event(
                run.obj, type_=type_, reason=reason, action="Synchronize", note=note
            )

    def _update_slot_metrics(self) -> None:
        self.metrics.movers_running.set(self.slots.running)
        self.metrics.movers_waiting.set(len(self.slots.waiting))

    # --- the iteration ---------------------------------------------------------------------

    async def _advance(self, run: Run) -> None:
        generation = run.obj["metadata"].get("generation")
        if isinstance(generation, int):
            run.status.observed_generation = generation
        problems = self._problems(run)
        if problems:
            report_invalid(run, "; ".join(str(problem) for problem in problems))
            return
        engine = await self._resolved_engine(run)
        if isinstance(run.status, source.ReplicationSourceStatus):
            self._review_anomaly(run, run.status)
            await self._review_drill(run, run.status, *engine)
        if run.status.last_sync_start_time is not None:
            if not self._take_slot(run):
                return
            if not await self._synchronize(run, *engine):
                return
        elif self._cleaning_up(run):
            await self._cleanup(run, *engine)
        self._update_out_of_sync(run)
        decision = self._decide(run)
        run.status.next_sync_time = decision.next_sync_time
        if not decision.start:
            self._wait(run, decision)
            return
        if not self._take_slot(run):
            return
        self._reported_attempts.pop(run.key, None)
        problem = guard.setting(run.obj).problem if run.role is names.Role.SOURCE else ""
        if problem:
            run.event("Warning", REASON_GUARD_MISCONFIGURED, problem)
        self._start_sync(run)
        run.condition("True", conditions.REASON_SYNC_IN_PROGRESS, "Synchronization in-progress")
        await self._synchronize(run, *engine)

    def _start_sync(self, run: Run) -> None:
        run.status.last_sync_start_time = run.now
        if isinstance(run.status, source.ReplicationSourceStatus):
            run.status.hooks = None
            wrong = hooksettings.settings_of(run.obj).problem
            if wrong:
                run.event("Warning", hooking.REASON_MISCONFIGURED, wrong)

    async def _resolved_engine(self, run: Run) -> tuple[protocol.Mover, protocol.EngineSpec]:
        """Return the object's engine and its section, completed from what it refers to."""
        engine = registry.engine_of(run.model.spec)
        assert engine is not None  # the validator requires one engine's section
        mover, section = engine
        resolved = await mover.resolve(
            section, namespace=run.owner.namespace, find_source=self._find_source
        )
        run.repository_note = resolved.note
        return mover, resolved.spec

    async def _find_source(self, namespace: str, name: str) -> JsonObject | None:
        return await self.kube.get(Kind.REPLICATION_SOURCE, name, namespace=namespace)

    def _take_slot(self, run: Run) -> bool:
        """Take (or keep) a mover slot; without one, say so and wait to be woken."""
        if not self.slots.try_acquire(run.key):
            self._waiting_roles[run.key] = run.role
            run.condition(
                "False",
                statemachine.REASON_WAITING_FOR_MOVER_SLOT,
                f"waiting for a free mover slot ({self.slots.running} of {self.slots.limit} used)",
            )
            run.wake_in(300)
            return False
        self._waiting_roles.pop(run.key, None)
        return True

    def _problems(self, run: Run) -> list[validation.Problem]:
        if run.role is names.Role.SOURCE:
            return validation.validate_source(run.obj)
        return validation.validate_destination(run.obj)

    def _cleaning_up(self, run: Run) -> bool:
        current = conditions.find_condition(
            list(run.status.conditions or []), conditions.SYNCHRONIZING
        )
        return current is not None and current.reason == conditions.REASON_CLEANING_UP

    def _iteration(
        self, run: Run, mover: protocol.Mover, spec: protocol.EngineSpec
    ) -> iteration.Iteration:
        return iteration.Iteration(
            kube=self.kube,
            settings=self.settings.job,
            owner=run.owner,
            obj=run.obj,
            role=run.role,
            mover=mover,
            spec=spec,
            now=run.now,
            volume_timeout=self.settings.volume_timeout,
            repository_note=run.repository_note,
            guard_environment=guard.environment(run.obj, run.status)
            if isinstance(run.status, source.ReplicationSourceStatus)
            else (),
        )

    async def _synchronize(
        self, run: Run, mover: protocol.Mover, spec: protocol.EngineSpec
    ) -> bool:
        """Drive the running sync; return True when it ended and the object is idle again."""
        current = self._iteration(run, mover, spec)
        if isinstance(run.status, source.ReplicationSourceStatus):
            result = await self.hooks.before(current, run.status, run.event) or (
                await iteration.synchronize_source(
                    current, operations=self._operations(run, mover, spec)
                )
            )
            if result.phase in (base.Phase.COMPLETED, base.Phase.FAILED):
                result = self.hooks.after(current, run.status, run.event, result)
        else:
            result = await iteration.synchronize_destination(current)
        match result.phase:
            case base.Phase.WAITING:
                self._report_attempts(run, result)
                if result.progress is not None:
                    fresh = _progress(result.progress, now=run.now)
                    if _changed(run.status.progress, fresh):
                        run.status.progress = fresh
                run.condition(
                    "True",
                    conditions.REASON_SYNC_IN_PROGRESS,
                    result.message or "Synchronization in-progress",
                )
                run.wake_in(result.retry_after_seconds)
                return False
            case base.Phase.INVALID:
                report_invalid(run, result.message)
                run.wake_in(result.retry_after_seconds)
                # No mover was started: free the slot, or broken objects starve the rest.
                self.slots.release(run.key)
                return False
            case _:
                self._complete(run, result, mover, spec)
                await self._cleanup(run, mover, spec)
                return True

    def _operations(
        self, run: Run, mover: protocol.Mover, spec: protocol.EngineSpec
    ) -> tuple[contract.Operation, ...]:
        assert isinstance(run.status, source.ReplicationSourceStatus)
        due = mover.operations_due(
            protocol.Schedule(
                spec=spec,
                status=run.status,
                created=parse_time(run.obj["metadata"].get("creationTimestamp")) or run.now,
                now=run.now,
                check_interval=self.settings.check_interval,
            )
        )
        if guard.held(run.status):
            return tuple(
                operation for operation in due if operation is not contract.Operation.PRUNE
            )
        return due

    def _report_attempts(self, run: Run, result: base.SyncState) -> None:
        """Report each failed attempt of the running Job once (an event, a failure counted)."""
        failed = result.pending_failure
        if failed is None or result.failed_attempts <= self._reported_attempts.get(run.key, 0):
            return
        self._reported_attempts[run.key] = result.failed_attempts
        kind = str(failed.error_kind or contract.ErrorKind.RESTIC_FAILED)
        self.metrics.record_failure(run.identity, kind)
        run.event(
            "Warning",
            "TransferFailed",
            f"mover attempt failed ({kind}): {failed.message}; retrying",
        )

    async def _cleanup(self, run: Run, mover: protocol.Mover, spec: protocol.EngineSpec) -> None:
        await iteration.cleanup(self._iteration(run, mover, spec))
        self.slots.release(run.key)

    # --- completion ------------------------------------------------------------------------

    def _complete(
        self, run: Run, result: base.SyncState, mover: protocol.Mover, spec: protocol.EngineSpec
    ) -> None:
        outcome = result.mover_result or contract.MoverResult(
            outcome=contract.Outcome.FAILED, message=result.message
        )
        status = run.status
        started = status.last_sync_start_time or run.now
        # The Job's own end, not when this reconcile noticed it (an operator may have been down);
        # never before the sync started (times in seconds) nor in the future (another clock).
        ended = min(max(result.ended_at or run.now, started), run.now)
        succeeded = result.phase is base.Phase.COMPLETED
        self._count_missed_deadline(run)
        status.last_sync_start_time = None
        status.progress = None
        trigger = run.model.spec.trigger if run.model.spec else None
        if trigger is not None and trigger.manual is not None:
            status.last_manual_sync = trigger.manual
        status.latest_mover_status = common.MoverStatus(
            result=conditions.MOVER_RESULT_SUCCESSFUL
            if succeeded
            else conditions.MOVER_RESULT_FAILED,
            logs=result.logs,
        )
        status.last_sync_result = _sync_result(outcome, failure_kind=result.failure_kind)
        status.recent_syncs = recent_syncs(
            status.recent_syncs,
            outcome,
            succeeded=succeeded,
            backup=isinstance(status, source.ReplicationSourceStatus),
            started=started,
            ended=ended,
        )
        if isinstance(status, source.ReplicationSourceStatus) and outcome.newest_snapshot:
            status.snapshots = snapshot_catalog(outcome)
        if isinstance(status, source.ReplicationSourceStatus) and outcome.suspicious:
            self._record_anomaly(run, status, outcome, ended=ended)
        if succeeded:
            self._record_success(run, outcome, started=started, ended=ended)
            recorded = mover.record(status, spec, result, now=run.now, owner_key=run.key)
            if recorded.repository_damaged is not None:
                damaged = int(recorded.repository_damaged)
                self.metrics.repository_damaged.labels(*run.identity.labels).set(damaged)
            if isinstance(status, destination.ReplicationDestinationStatus) and result.image:
                status.latest_image = destination.LatestImage.model_validate(result.image)
        else:
            self._record_failure(run, outcome, failure_kind=result.failure_kind, ended=ended)
        run.condition("False", conditions.REASON_CLEANING_UP, "Cleaning up")

    def _review_anomaly(self, run: Run, status: source.ReplicationSourceStatus) -> None:
        """Clear an anomaly a person acknowledged; keep its metric up to date."""
        anomaly = status.anomaly
        if anomaly is not None and guard.acknowledged(run.obj, anomaly):
            status.anomaly = None
            run.event(
                "Normal",
                REASON_ANOMALY_ACKNOWLEDGED,
                f"snapshot {(anomaly.snapshot_id or '')[:8]} was acknowledged: retention and "
                f"prune resume with the next backup; the last good snapshot "
                f"{(anomaly.last_good or '')[:8]} stays pinned until someone unpins it",
            )
        suspicious = 1 if status.anomaly is not None else 0
        self.metrics.backup_suspicious.labels(*run.identity.labels).set(suspicious)

    async def _review_drill(
        self,
        run: Run,
        status: source.ReplicationSourceStatus,
        mover: protocol.Mover,
        spec: protocol.EngineSpec,
    ) -> None:
        """Record a finished restore drill or start a due one (controller/drilling.py)."""
        policy = self.settings.policy
        found = await drilling.review(
            self._iteration(run, mover, spec),
            status,
            policy=schedule.Schedule(
                expression="", timezone=policy.timezone, jitter_window=policy.jitter_window
            ),
            created=parse_time(run.obj["metadata"].get("creationTimestamp")) or run.now,
        )
        for event in found.events:
            run.event(*event)
        run.wake_in(found.wake_in)
        labels = run.identity.labels
        failed = self.metrics.drill_failed.labels(*labels)  # 0 for a source without drills
        if found.failure:
            failed.set(1)
            self._tell(run, notifications.Change.DRILL_FAILED, found.failure)
        if found.succeeded_at is not None:
            failed.set(0)
            self.metrics.drill_last_success.labels(*labels).set(found.succeeded_at.timestamp())

    def _record_anomaly(
        self,
        run: Run,
        status: source.ReplicationSourceStatus,
        outcome: contract.MoverResult,
        *,
        ended: datetime.datetime,
    ) -> None:
        """Hold retention after a suspicious backup and say so, once per anomaly."""
        if status.anomaly is not None:
            return
        status.anomaly = source.Anomaly(
            snapshot_id=outcome.snapshot_id,
            time=ended,
            reason=outcome.suspicious,
            last_good=outcome.last_good,
        )
        self.metrics.backup_suspicious.labels(*run.identity.labels).set(1)
        self._tell(
            run,
            notifications.Change.SUSPICIOUS,
            f"snapshot {outcome.snapshot_id[:8]}: {outcome.suspicious}; {outcome.last_good[:8]} "
            f"before it is pinned. If intended: pyvolsync ack {run.owner.name} -n "
            f"{run.owner.namespace}",
        )
        run.event(
            "Warning",
            REASON_ANOMALY,
            f"snapshot {outcome.snapshot_id[:8]} looks wrong: {outcome.suspicious}. The snapshot "
            f"before it, {outcome.last_good[:8]}, is pinned and retention and prune are held. If "
            f"the change is expected: pyvolsync ack {run.owner.name} -n {run.owner.namespace}",
        )

    def _tell(self, run: Run, change: notifications.Change, detail: str) -> None:
        what = f"{run.obj.get('kind')} {run.key}"
        self.notify(notifications.Notice(change=change, what=what, detail=detail))

    def _record_success(
        self,
        run: Run,
        outcome: contract.MoverResult,
        *,
        started: datetime.datetime,
        ended: datetime.datetime,
    ) -> None:
        status = run.status
        if status.consecutive_failures:
            self._tell(run, notifications.Change.RECOVERED, _recovered(outcome, status))
        status.last_sync_time = ended
        status.last_sync_duration = durations.format_duration(ended - started)
        status.consecutive_failures = None
        self.metrics.sync_duration.labels(*run.identity.labels).observe(
            (ended - started).total_seconds()
        )
        self.metrics.last_success.labels(*run.identity.labels).set(ended.timestamp())
        self.metrics.bytes_added.labels(*run.identity.labels).inc(max(outcome.bytes_added, 0))
        run.event(*_success_event(outcome))

    def _record_failure(
        self,
        run: Run,
        outcome: contract.MoverResult,
        *,
        failure_kind: str | None = None,
        ended: datetime.datetime,
    ) -> None:
        status = run.status
        status.last_failure_time = ended
        status.consecutive_failures = (status.consecutive_failures or 0) + 1
        kind = failure_kind or str(outcome.error_kind or contract.ErrorKind.RESTIC_FAILED)
        self.metrics.record_failure(run.identity, kind)
        if status.consecutive_failures == 1:
            detail = f"{failure_reason(kind)}: {outcome.message}"
            self._tell(run, notifications.Change.FAILED, detail)
        if failure_kind:
            # No mover ran: a volume was not ready in time; the event is named after it.
            run.event("Warning", failure_reason(failure_kind), outcome.message)
            return
        run.event(
            "Warning", "TransferFailed", f"synchronization failed ({kind}): {outcome.message}"
        )

    def _count_missed_deadline(self, run: Run) -> None:
        if self._missed_deadline(run):
            self.metrics.missed_intervals.labels(*run.identity.labels).inc()

    def _missed_deadline(self, run: Run) -> bool:
        trigger = run.model.spec.trigger if run.model.spec else None
        last = run.status.last_sync_time
        if trigger is None or trigger.manual is not None or not trigger.schedule or last is None:
            return False
        policy = self.settings.policy
        rule = schedule.Schedule(
            expression=trigger.schedule,
            timezone=policy.timezone,
            jitter_window=policy.jitter_window,
        )
        return schedule.missed_deadline(rule, last_sync=last, now=run.now, key=run.key)

    def _update_out_of_sync(self, run: Run) -> None:
        stale = run.status.last_sync_time is None or self._missed_deadline(run)
        self.metrics.out_of_sync.labels(*run.identity.labels).set(1 if stale else 0)

    # --- waiting ---------------------------------------------------------------------------

    def _decide(self, run: Run) -> statemachine.Decision:
        spec = run.model.spec
        trigger = spec.trigger if spec is not None else None
        status = run.status
        view = statemachine.StatusView(
            last_sync_time=status.last_sync_time,
            last_sync_start_time=status.last_sync_start_time,
            last_manual_sync=status.last_manual_sync,
            last_failure_time=status.last_failure_time,
            consecutive_failures=status.consecutive_failures or 0,
        )
        return statemachine.decide(
            statemachine.TriggerView(
                schedule=trigger.schedule if trigger else None,
                manual=trigger.manual if trigger else None,
            ),
            view,
            paused=bool(spec and spec.paused),
            created=parse_time(run.obj["metadata"].get("creationTimestamp")) or run.now,
            key=run.key,
            now=run.now,
            policy=self.settings.policy,
        )

    def _wait(self, run: Run, decision: statemachine.Decision) -> None:
        self._waiting_roles.pop(run.key, None)
        reason, message = decision.reason, decision.message
        last = run.status.last_sync_result
        failed_last = run.status.last_failure_time is not None and (
            run.status.last_sync_time is None
            or run.status.last_failure_time > run.status.last_sync_time
        )
        if decision.reason != statemachine.REASON_PAUSED and last is not None:
            if failed_last:
                reason = failure_reason(last.error_kind)
                message = f"{last.message or 'the last synchronization failed'}; {message}"
            elif last.error_kind == contract.ErrorKind.REPOSITORY_MISSING:
                reason = REASON_REPOSITORY_MISSING
                message = f"the repository does not exist, the volume was left empty; {message}"
            elif last.error_kind == contract.ErrorKind.REPOSITORY_DAMAGED:
                reason = REASON_REPOSITORY_DAMAGED
                message = f"the backup was saved, but {last.message}; {message}"
            elif last.outcome == contract.Outcome.SOURCE_EMPTY:
                reason, message = (
                    REASON_SOURCE_EMPTY,
                    f"the source volume was empty, nothing was backed up; {message}",
                )
            elif last.outcome == contract.Outcome.NO_ELIGIBLE_SNAPSHOT:
                reason, message = (
                    REASON_NO_ELIGIBLE_SNAPSHOT,
                    f"{last.message or 'no eligible snapshot, nothing was restored'}; {message}",
                )
        run.condition("False", reason, message)
        if decision.wake_at is not None:
            run.wake_in((decision.wake_at - run.now).total_seconds())


def _recovered(outcome: contract.MoverResult, status: Status) -> str:
    failed = status.consecutive_failures or 0
    snapshot = f"; snapshot {outcome.snapshot_id[:8]}" if outcome.snapshot_id else ""
    return f"synced again after {failed} failed sync{'s' if failed > 1 else ''}{snapshot}"


def _success_event(outcome: contract.MoverResult) -> tuple[str, str, str]:
    """Return (type, reason, note) of the event about a completed sync."""
    if outcome.error_kind is contract.ErrorKind.REPOSITORY_MISSING:
        return (
            "Warning",
            REASON_REPOSITORY_MISSING,
            "the repository does not exist: nothing was restored and the volume is empty",
        )
    if outcome.error_kind is contract.ErrorKind.REPOSITORY_DAMAGED:
        saved = f" (snapshot {outcome.snapshot_id[:8]})" if outcome.snapshot_id else ""
        return (
            "Warning",
            REASON_REPOSITORY_DAMAGED,
            f"the backup was saved{saved}, but the scheduled check failed: {outcome.message}",
        )
    if outcome.outcome is contract.Outcome.SOURCE_EMPTY:
        return "Warning", REASON_SOURCE_EMPTY, "the source volume is empty: nothing was backed up"
    if outcome.outcome is contract.Outcome.NO_ELIGIBLE_SNAPSHOT:
        return (
            "Warning",
            REASON_NO_ELIGIBLE_SNAPSHOT,
            outcome.message or "the repository has no eligible snapshot: nothing was restored",
        )
    note = f"synchronization finished: {outcome.outcome}"
    if outcome.snapshot_id:
        note += f", snapshot {outcome.snapshot_id[:8]}"
    if outcome.message:
        note += f"; {outcome.message}"
    if outcome.outcome is contract.Outcome.SUCCEEDED_WITH_WARNINGS:
        # Files left out of a backup, or a restore that may hold another source's data.
        return "Warning", REASON_COMPLETED_WITH_WARNINGS, note
    return "Normal", "TransferCompleted", note


def _progress(progress: contract.Progress, *, now: datetime.datetime) -> common.SyncProgress:
    return common.SyncProgress(
        percent=progress.percent,
        bytes_done=progress.bytes_done,
        bytes_total=progress.bytes_total,
        files_done=progress.files_done,
        files_total=progress.files_total,
        eta_seconds=progress.eta_seconds,
        updated_at=now,
    )


def _changed(old: common.SyncProgress | None, new: common.SyncProgress) -> bool:
    """Return True when the numbers differ (the read time alone is no reason to write)."""
    if old is None:
        return True
    return old.model_dump(exclude={"updated_at"}) != new.model_dump(exclude={"updated_at"})


def snapshot_catalog(outcome: contract.MoverResult) -> source.SnapshotCatalog:
    """Return the status summary of the source's snapshots a backup reported."""
    return source.SnapshotCatalog(
        count=outcome.snapshots_kept,
        pinned=outcome.snapshots_pinned,
        oldest=parse_time(outcome.oldest_snapshot),
        newest=parse_time(outcome.newest_snapshot),
    )


def _sync_result(
    outcome: contract.MoverResult, *, failure_kind: str | None = None
) -> common.SyncResult:
    """Return the status summary of a mover result; counters that stayed zero are left out.

    ``failure_kind`` names a failure the operator found itself (no mover ran), e.g.
    ``volume-not-bound``; it becomes ``errorKind``.
    """
    counters = {
        name: getattr(outcome, name) or None
        for name in (
            "files_new",
            "files_changed",
            "files_unmodified",
            "bytes_added",
            "bytes_processed",
            "files_restored",
            "bytes_restored",
        )
    }
    return common.SyncResult(
        outcome=str(outcome.outcome),
        error_kind=failure_kind or (str(outcome.error_kind) if outcome.error_kind else None),
        message=outcome.message or None,
        snapshot_id=outcome.snapshot_id or None,
        warnings=list(outcome.warnings) or None,
        **counters,
    )


def recent_syncs(
    history: list[common.SyncRecord] | None,
    outcome: contract.MoverResult,
    *,
    succeeded: bool,
    backup: bool,
    started: datetime.datetime,
    ended: datetime.datetime,
) -> list[common.SyncRecord]:
    """Return ``history`` with the sync that just ended added (a backup's byte counts with it),
    the oldest dropped past HISTORY_LIMIT."""
    counted = succeeded and backup and bool(outcome.snapshot_id)
    record = common.SyncRecord(
        time=ended,
        result=conditions.MOVER_RESULT_SUCCESSFUL if succeeded else conditions.MOVER_RESULT_FAILED,
        duration_seconds=round((ended - started).total_seconds(), 3),
        bytes_added=outcome.bytes_added if counted else None,
        bytes_processed=outcome.bytes_processed if counted else None,
    )
    return [*(history or []), record][-HISTORY_LIMIT:]
