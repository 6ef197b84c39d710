"""restic as a ``Mover``: upstream VolSync's environment contract and restic's maintenance.

A source's Job runs ``unlock`` once per new ``spec.restic.unlock`` value, the backup (with
``forget``), ``prune`` every ``pruneIntervalDays`` and ``check`` every ``--check-interval``;
a destination's runs ``restore``. The container gets upstream's variables so a repository
written by either operator restores with the other. ``status.restic`` records when each
maintenance last ran.
"""

from __future__ import annotations

import dataclasses
import datetime

from pyvolsync import contract
from pyvolsync.api import defaults, destination, source
from pyvolsync.movers import base, protocol

CONTAINER_NAME = "restic"
DATA_MOUNT = "/data"
CACHE_MOUNT = "/cache"

# Keys of the repository Secret passed to restic when present (upstream's list).
OPTIONAL_SECRET_KEYS = (
    "RESTIC_COMPRESSION", "RESTIC_PACK_SIZE", "RESTIC_READ_CONCURRENCY",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION",
    "AWS_PROFILE", "RESTIC_AWS_ASSUME_ROLE_ARN", "RESTIC_AWS_ASSUME_ROLE_SESSION_NAME",
    "RESTIC_AWS_ASSUME_ROLE_EXTERNAL_ID", "RESTIC_AWS_ASSUME_ROLE_POLICY",
    "RESTIC_AWS_ASSUME_ROLE_REGION", "RESTIC_AWS_ASSUME_ROLE_STS_ENDPOINT",
    "ST_AUTH", "ST_USER", "ST_KEY",
    "OS_AUTH_URL", "OS_REGION_NAME", "OS_USERNAME", "OS_USER_ID", "OS_PASSWORD", "OS_TENANT_ID",
    "OS_TENANT_NAME", "OS_USER_DOMAIN_NAME", "OS_USER_DOMAIN_ID", "OS_PROJECT_NAME",
    "OS_PROJECT_DOMAIN_NAME", "OS_PROJECT_DOMAIN_ID", "OS_TRUST_ID",
    "OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_NAME",
    "OS_APPLICATION_CREDENTIAL_SECRET", "OS_STORAGE_URL", "OS_AUTH_TOKEN",
    "B2_ACCOUNT_ID", "B2_ACCOUNT_KEY",
    "AZURE_ACCOUNT_NAME", "AZURE_ACCOUNT_KEY", "AZURE_ACCOUNT_SAS", "AZURE_ENDPOINT_SUFFIX",
    "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE",
    "GOOGLE_PROJECT_ID", "RESTIC_REST_USERNAME", "RESTIC_REST_PASSWORD",
)  # fmt: skip
REQUIRED_SECRET_KEYS = (
    str(contract.EnvVar.RESTIC_REPOSITORY),
    str(contract.EnvVar.RESTIC_PASSWORD),
)
RCLONE_KEY_PREFIX = "RCLONE_"
SUCCEEDED = (contract.Outcome.SUCCEEDED, contract.Outcome.SUCCEEDED_WITH_WARNINGS)


class Restic:
    """The restic engine (``spec.restic``)."""

    name = "restic"
    required_secret_keys = REQUIRED_SECRET_KEYS

    def section(self, spec: protocol.Spec) -> protocol.EngineSpec | None:
        return spec.restic

    def operations_due(self, schedule: protocol.Schedule) -> tuple[contract.Operation, ...]:
        spec = schedule.spec
        assert isinstance(spec, source.ResticSourceSpec)
        status = schedule.status.restic or source.ResticSourceStatus()
        operations: list[contract.Operation] = []
        if defaults.unlock_due(spec, last_unlocked=status.last_unlocked):
            operations.append(contract.Operation.UNLOCK)
        operations.append(contract.Operation.BACKUP)
        if defaults.prune_due(
            spec, last_pruned=status.last_pruned, created=schedule.created, now=schedule.now
        ):
            operations.append(contract.Operation.PRUNE)
        if defaults.check_due(
            interval=schedule.check_interval,
            last_checked=status.last_checked,
            created=schedule.created,
            now=schedule.now,
        ):
            operations.append(contract.Operation.CHECK)
        return tuple(operations)

    def restore_operations(self) -> tuple[contract.Operation, ...]:
        return (contract.Operation.RESTORE,)

    def container(self, plan: protocol.ContainerRequest) -> protocol.Container:
        optional = [key for key in OPTIONAL_SECRET_KEYS if key in plan.secret_keys]
        optional += sorted(key for key in plan.secret_keys if key.startswith(RCLONE_KEY_PREFIX))
        return protocol.Container(
            name=CONTAINER_NAME,
            command=("pyvolsync-mover", "restic"),
            plain_environment=_plain_environment(plan),
            optional_secret_keys=tuple(optional),
            feature_environment=_feature_environment(plan),
        )

    async def resolve(
        self, spec: protocol.EngineSpec, *, namespace: str, find_source: protocol.SourceLookup
    ) -> protocol.Resolved:
        return protocol.Resolved(spec=spec)

    def settle(self, state: base.SyncState) -> base.SyncState:
        if _damage_found_after_backup(state):
            return dataclasses.replace(state, phase=base.Phase.COMPLETED)
        return state

    def record(
        self,
        status: protocol.Status,
        spec: protocol.EngineSpec,
        state: base.SyncState,
        *,
        now: datetime.datetime,
        owner_key: str,
    ) -> protocol.Recorded:
        if not isinstance(status, source.ReplicationSourceStatus):
            return protocol.Recorded()
        assert isinstance(spec, source.ResticSourceSpec)
        ran = {
            item.operation
            for item in (state.mover_result.operations if state.mover_result else ())
            if item.outcome in SUCCEEDED
        }
        planned = set(state.operations)
        restic_status = status.restic or source.ResticSourceStatus()
        if contract.Operation.PRUNE in planned & ran:
            restic_status.last_pruned = now
        damaged = None
        if contract.Operation.CHECK in planned:
            damaged = contract.Operation.CHECK not in ran
            if not damaged:
                restic_status.last_checked = now
        if contract.Operation.UNLOCK in planned & ran:
            restic_status.last_unlocked = spec.unlock
        elif not spec.unlock:
            restic_status.last_unlocked = None
        status.restic = restic_status
        return protocol.Recorded(repository_damaged=damaged)


def _damage_found_after_backup(state: base.SyncState) -> bool:
    """Return True when only the scheduled check failed, finding the repository damaged."""
    outcome = state.mover_result
    if state.phase is not base.Phase.FAILED or outcome is None:
        return False
    failed = [item for item in outcome.operations if not item.outcome.ok]
    return [(item.operation, item.error_kind) for item in failed] == [
        (contract.Operation.CHECK, contract.ErrorKind.REPOSITORY_DAMAGED)
    ]


def _plain_environment(plan: protocol.ContainerRequest) -> tuple[tuple[str, str], ...]:
    spec = plan.spec
    forget, as_of, previous, restore = "", "", "0", ""
    if isinstance(spec, source.ResticSourceSpec):
        forget = " ".join(defaults.forget_options(spec.retain))
    if isinstance(spec, destination.ResticDestinationSpec):
        as_of = defaults.restore_as_of(spec)
        previous = str(defaults.previous(spec))
        restore = " ".join(defaults.restore_options(spec))
    return (
        (contract.EnvVar.FORGET_OPTIONS, forget),
        (contract.EnvVar.DATA_DIR, DATA_MOUNT),
        (contract.EnvVar.RESTIC_CACHE_DIR, CACHE_MOUNT),
        (contract.EnvVar.RESTORE_AS_OF, as_of),
        (contract.EnvVar.SELECT_PREVIOUS, previous),
        (contract.EnvVar.RESTORE_OPTIONS, restore),
        (contract.EnvVar.PROGRESS_INTERVAL, str(plan.progress_interval_seconds)),
    )


def _feature_environment(plan: protocol.ContainerRequest) -> tuple[tuple[str, str], ...]:
    env: list[tuple[str, str]] = []
    if isinstance(plan.spec, source.ResticSourceSpec):
        env.append((contract.EnvVar.SOURCE, plan.owner_key))
    if contract.Operation.CHECK in plan.operations and plan.check_read_data_subset:
        env.append((contract.EnvVar.CHECK_READ_DATA_SUBSET, plan.check_read_data_subset))
    return tuple(env)
