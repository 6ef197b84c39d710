"""The KopiaMaintenance resource: run kopia's repository maintenance on a schedule.

Kopia frees space and compacts its indexes only through maintenance, which one owner runs per
repository. The perfectra1n/volsync fork lets users say, per repository Secret, when and how
that happens with a namespaced `KopiaMaintenance` object; pyvolsync serves the same kind field
for field, so a fork cluster's objects apply unchanged. Unlike the fork's CRD, ours applies no
defaults: unset fields stay unset and `defaults` says what they mean (see docs/api.md).
"""

from __future__ import annotations

from typing import Annotated, Any

import pydantic

from pyvolsync.api import common, kopia, resources, wire

# The shortest run time the fork lets a maintenance Job have, in seconds.
MINIMUM_ACTIVE_DEADLINE_SECONDS = 600


class KopiaRepository(wire.FrozenWireModel):
    """The repository to maintain."""

    repository: Annotated[wire.Str, pydantic.Field(min_length=1)]
    """Secret in this namespace with KOPIA_REPOSITORY, KOPIA_PASSWORD and backend keys."""
    custom_ca: common.CustomCA | None = None
    """CA certificate to trust when talking to the repository."""
    repository_type: wire.Str | None = None
    """Kind of backend (s3, azure, gcs, filesystem, ...), as information."""


class KopiaMaintenanceSpec(common.CacheOptions, kopia.KopiaCacheLimits):
    """Which repository to maintain, when, and how the maintenance pod runs."""

    repository: KopiaRepository
    """The repository to maintain."""
    trigger: common.Trigger | None = None
    """When to run maintenance (daily at 02:00 when neither this nor schedule is set)."""
    schedule: common.Schedule | None = None
    """Deprecated spelling of trigger.schedule; trigger.schedule wins when both are set."""
    enabled: wire.Bool | None = None
    """Whether to run maintenance at all (true when unset)."""
    suspend: wire.Bool | None = None
    """Start no new maintenance run while true; a running one finishes."""
    successful_jobs_history_limit: Annotated[wire.Int32, pydantic.Field(ge=0)] | None = None
    """Finished maintenance Jobs to keep (3 when unset)."""
    failed_jobs_history_limit: Annotated[wire.Int32, pydantic.Field(ge=0)] | None = None
    """Failed maintenance Jobs to keep (1 when unset)."""
    resources: Annotated[wire.KubeObject, wire.kube_type("ResourceRequirements")] | None = None
    """CPU and memory requests and limits of the maintenance container."""
    active_deadline_seconds: (
        Annotated[wire.Int64, pydantic.Field(ge=MINIMUM_ACTIVE_DEADLINE_SECONDS)] | None
    ) = None
    """Seconds a maintenance run may take before it is stopped (10800 when unset)."""
    service_account_name: wire.Str | None = None
    """Existing ServiceAccount to run maintenance as."""
    pod_security_context: (
        Annotated[wire.KubeObject, wire.kube_type("PodSecurityContext")] | None
    ) = None
    """Pod security context of the maintenance pod."""
    container_security_context: (
        Annotated[wire.KubeObject, wire.kube_type("SecurityContext")] | None
    ) = None
    """Security context of the maintenance container."""
    mover_pod_labels: wire.StringMap | None = None
    """Extra labels for the maintenance pod."""
    node_selector: wire.StringMap | None = None
    """Node labels the maintenance pod must run on."""
    tolerations: list[Annotated[wire.KubeObject, wire.kube_type("Toleration")]] | None = None
    """Taints the maintenance pod tolerates."""
    affinity: Annotated[wire.KubeObject, wire.kube_type("Affinity")] | None = None
    """Scheduling affinity of the maintenance pod."""
    cache_pvc: wire.Str | None = None
    """Existing PersistentVolumeClaim to keep kopia's cache on."""
    mover_volumes: list[common.MoverVolume] | None = None
    """Extra volumes mounted into the maintenance pod (e.g. a filesystem repository)."""


class KopiaMaintenanceStatus(wire.WireModel):
    """Observed state of a KopiaMaintenance."""

    observed_generation: wire.Int64 | None = None
    """The metadata.generation this status describes."""
    active_cron_job: wire.Str | None = None
    """The CronJob that runs this maintenance."""
    last_reconcile_time: wire.Time | None = None
    """When the operator last looked at this object."""
    last_maintenance_time: wire.Time | None = None
    """When maintenance last succeeded."""
    next_scheduled_maintenance: wire.Time | None = None
    """When maintenance is next due."""
    maintenance_failures: wire.Int32 | None = None
    """Maintenance runs that failed in a row."""
    last_manual_sync: wire.Str | None = None
    """The trigger.manual value the latest maintenance answered."""
    conditions: list[common.Condition] | None = None
    """Current state of the maintenance."""


class KopiaMaintenance(wire.WireModel):
    """Runs kopia repository maintenance for one repository Secret, scheduled or on demand."""

    api_version: wire.Str = resources.API_VERSION
    """The API version, volsync.backube/v1alpha1."""
    kind: wire.Str = resources.MAINTENANCE_KIND
    """The kind, KopiaMaintenance."""
    metadata: dict[str, Any] = pydantic.Field(default_factory=dict)
    """Standard object metadata."""
    spec: KopiaMaintenanceSpec | None = None
    """Which repository to maintain and when."""
    status: KopiaMaintenanceStatus | None = None
    """What the operator observed."""
