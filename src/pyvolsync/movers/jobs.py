"""The mover Job of any engine, planned once per iteration and never changed while it runs.

The Job follows upstream's shape where clusters depend on it: the name ``volsync-src-<name>`` /
``volsync-dst-<name>``, the ``app.kubernetes.io/created-by: volsync`` label on the Job and its
pod, a first container with a ``volumeMounts`` list (the spec's admission policies patch it), the
data volume at ``/data`` and the cache at ``/cache``, and the engine's environment contract
(``protocol.Container``: upstream's for restic, the kopia fork's for kopia). It
differs where upstream hurts users: the operations (unlock, prune) are decided once and recorded
in an annotation, retries are bounded (``backoffLimit``) and a configuration error fails the Job
at once instead of being retried.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pyvolsync import contract
from pyvolsync.movers import protocol
from pyvolsync.planning import metadata, security

DATA_MOUNT = "/data"
CACHE_MOUNT = "/cache"
CUSTOM_CA_MOUNT = "/customCA"
CUSTOM_CA_FILE = "ca.crt"
CREDENTIALS_MOUNT = "/credentials"
REPOSITORY_VOLUME = "repository"
REPOSITORY_MOUNT = "/repository"
DRILL_CHECK_CONTAINER = "check"
"""The container of a drill's Job that runs the user's check."""

GCS_CREDENTIALS_KEY = "GOOGLE_APPLICATION_CREDENTIALS"
LISTING_DEADLINE_SECONDS = 300
# Mover exit codes after which running the same Job again cannot help.
PERMANENT_EXIT_CODES = tuple(
    int(code)
    for code in (
        contract.ExitCode.INVALID_CONFIGURATION,
        contract.ExitCode.NOT_RETRIABLE,
        contract.ExitCode.REPOSITORY_MISSING,
        contract.ExitCode.WRONG_PASSWORD,
    )
)

JsonObject = dict[str, Any]


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobSettings:
    """Operator settings that shape every mover Job."""

    image: str
    retries: int = 2
    """Extra attempts the Job controller makes (with its own backoff) before the Job fails."""
    repository_volume: Mapping[str, Any] | None = None
    """A volume source mounted at /repository in Jobs that have no ``repository`` volume."""
    proxy_environment: Mapping[str, str] = dataclasses.field(default_factory=dict)
    progress_interval_seconds: int = 10
    check_read_data_subset: str | None = None
    """The share of the repository's packs a scheduled `restic check` reads (None: none)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobPlan:
    """Everything one mover Job needs besides the settings."""

    owner: metadata.Owner
    name: str
    service_account: str
    operations: tuple[contract.Operation, ...]
    spec: protocol.EngineSpec
    mover: protocol.Mover
    data_claim: str
    data_read_only: bool
    cache_claim: str
    secret_name: str
    secret_keys: frozenset[str]
    privileged: bool
    debug: bool = False
    node_selector: Mapping[str, str] | None = None
    tolerations: Sequence[Mapping[str, Any]] = ()
    guard_environment: tuple[tuple[str, str], ...] = ()
    """The anomaly guard's variables (backups only)."""


def mover_job(plan: JobPlan, settings: JobSettings) -> JsonObject:
    """Return the mover Job for ``plan``."""
    container = _container(plan, settings)
    pod_labels = {
        metadata.CREATED_BY_LABEL: metadata.CREATED_BY_VALUE,
        **(plan.spec.mover_pod_labels or {}),
    }
    annotations = {metadata.OPERATIONS_ANNOTATION: json.dumps([str(op) for op in plan.operations])}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata.object_metadata(
            plan.owner, plan.name, temporary=True, annotations=annotations
        ),
        "spec": {
            "backoffLimit": settings.retries,
            "parallelism": 1,
            "podFailurePolicy": _pod_failure_policy(container.name),
            "template": {
                "metadata": {"name": plan.name, "labels": pod_labels},
                "spec": _pod_spec(plan, settings, container),
            },
        },
    }


def planned_operations(job: Mapping[str, Any]) -> tuple[contract.Operation, ...]:
    """Return the operations an existing mover Job was created to run."""
    text = (job.get("metadata", {}).get("annotations") or {}).get(metadata.OPERATIONS_ANNOTATION)
    try:
        return tuple(contract.Operation(item) for item in json.loads(text or "[]"))
    except (ValueError, TypeError):
        return ()


def container_name(job: Mapping[str, Any]) -> str:
    """Return the name of the mover container of an existing Job (its first container)."""
    containers = job.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    return str(containers[0].get("name", "")) if containers else ""


def _pod_failure_policy(name: str) -> JsonObject:
    return {
        "rules": [
            {
                "action": "FailJob",
                "onExitCodes": {
                    "containerName": name,
                    "operator": "In",
                    "values": list(PERMANENT_EXIT_CODES),
                },
            }
        ]
    }


def listing_job(
    plan: JobPlan,
    settings: JobSettings,
    *,
    labels: Mapping[str, str],
    environment: Mapping[str, str] | None = None,
    deadline_seconds: int = LISTING_DEADLINE_SECONDS,
) -> JsonObject:
    """Return a Job running one of the engine's catalog or browsing operations (``snapshots``,
    ``pin``, ``ls``, ``download``, ...) for ``plan``'s owner, with ``environment`` added to the
    mover's, stopped after ``deadline_seconds``.

    It is the mover Job's container, environment and repository volumes (so it reaches the
    repository exactly as the mover does), with scratch directories for the data and the cache
    when the plan names no claims, no retries and a deadline; it is not owned by the object.
    """
    container = _container(plan, settings)
    pod_spec = _pod_spec(plan, settings, container)
    pod_spec["containers"][0]["env"] += [
        {"name": name, "value": value} for name, value in (environment or {}).items()
    ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": plan.name, "namespace": plan.owner.namespace, "labels": dict(labels)},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline_seconds,
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": pod_spec,
            },
        },
    }


def _container(plan: JobPlan, settings: JobSettings) -> protocol.Container:
    return plan.mover.container(
        protocol.ContainerRequest(
            owner_key=plan.owner.key,
            spec=plan.spec,
            operations=plan.operations,
            secret_keys=plan.secret_keys,
            progress_interval_seconds=settings.progress_interval_seconds,
            check_read_data_subset=settings.check_read_data_subset,
        )
    )


def _pod_spec(plan: JobPlan, settings: JobSettings, engine: protocol.Container) -> JsonObject:
    volumes, mounts = _volumes(plan, settings)
    container: JsonObject = {
        "name": engine.name,
        "image": settings.image,
        "command": list(engine.command),
        "args": [str(op) for op in plan.operations],
        "env": _environment(plan, settings, engine),
        "volumeMounts": mounts,
        "securityContext": security.container_security_context(
            privileged=plan.privileged, pod_context=plan.spec.mover_security_context
        ),
        "resources": dict(plan.spec.mover_resources or {}),
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    pod: JsonObject = {
        "restartPolicy": "Never",
        "serviceAccountName": plan.service_account,
        "containers": [container],
        "volumes": volumes,
    }
    if plan.spec.mover_security_context is not None:
        pod["securityContext"] = dict(plan.spec.mover_security_context)
    if plan.spec.mover_affinity is not None:
        pod["affinity"] = dict(plan.spec.mover_affinity)
    if plan.node_selector:
        pod["nodeSelector"] = dict(plan.node_selector)
    if plan.tolerations:
        pod["tolerations"] = [dict(item) for item in plan.tolerations]
    return pod


def secret_env(secret: str, key: str, *, optional: bool) -> JsonObject:
    """An environment variable read from key ``key`` of Secret ``secret``."""
    return {
        "name": key,
        "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": optional}},
    }


def _environment(
    plan: JobPlan, settings: JobSettings, engine: protocol.Container
) -> list[JsonObject]:
    env = [{"name": name, "value": value} for name, value in engine.plain_environment]
    env += [
        secret_env(plan.secret_name, key, optional=False) for key in plan.mover.required_secret_keys
    ]
    env += [secret_env(plan.secret_name, key, optional=True) for key in engine.optional_secret_keys]
    for name, value in sorted(settings.proxy_environment.items()):
        env += [{"name": name, "value": value}, {"name": name.lower(), "value": value}]
    features = [*engine.feature_environment, *_feature_environment(plan)]
    env += [{"name": name, "value": value} for name, value in features]
    return env


def _feature_environment(plan: JobPlan) -> list[tuple[str, str]]:
    env: list[tuple[str, str]] = []
    if plan.debug:
        env.append(("DEBUG_MOVER", "1"))
    if _custom_ca(plan.spec) is not None:
        env.append((contract.EnvVar.CUSTOM_CA, f"{CUSTOM_CA_MOUNT}/{CUSTOM_CA_FILE}"))
    if GCS_CREDENTIALS_KEY in plan.secret_keys:
        env.append((GCS_CREDENTIALS_KEY, f"{CREDENTIALS_MOUNT}/gcs.json"))
    env.append((contract.EnvVar.PRIVILEGED_MOVER, "1" if plan.privileged else "0"))
    env += plan.guard_environment
    return env


def _custom_ca(spec: protocol.EngineSpec) -> JsonObject | None:
    """Return the custom CA volume source, or None when no CA is configured (key unset)."""
    ca = spec.custom_ca
    if ca is None or not ca.key:
        return None
    items = [{"key": ca.key, "path": CUSTOM_CA_FILE}]
    if ca.secret_name:
        return {"secret": {"secretName": ca.secret_name, "items": items}}
    if ca.config_map_name:
        return {"configMap": {"name": ca.config_map_name, "items": items}}
    return None


def _claim(name: str, *, read_only: bool | None) -> JsonObject:
    """Return the volume source of claim ``name``; an empty scratch directory when ``name`` is ""
    (a read-only listing needs neither the data nor a kept cache)."""
    if not name:
        return {"emptyDir": {}}
    claim: JsonObject = {"claimName": name}
    if read_only is not None:
        claim["readOnly"] = read_only
    return {"persistentVolumeClaim": claim}


def _volumes(plan: JobPlan, settings: JobSettings) -> tuple[list[JsonObject], list[JsonObject]]:
    """Return the pod's volumes and the container's mounts, in upstream's order."""
    pairs: list[tuple[JsonObject, JsonObject]] = [
        (
            {"name": "data", **_claim(plan.data_claim, read_only=plan.data_read_only)},
            {"name": "data", "mountPath": DATA_MOUNT},
        ),
        (
            {"name": "cache", **_claim(plan.cache_claim, read_only=None)},
            {"name": "cache", "mountPath": CACHE_MOUNT},
        ),
        (
            {"name": "tempdir", "emptyDir": {"medium": "Memory"}},
            {"name": "tempdir", "mountPath": "/tmp"},
        ),
    ]
    custom_ca = _custom_ca(plan.spec)
    if custom_ca is not None:
        pairs.append(
            (
                {"name": "custom-ca", **custom_ca},
                {"name": "custom-ca", "mountPath": CUSTOM_CA_MOUNT},
            )
        )
    if GCS_CREDENTIALS_KEY in plan.secret_keys:
        items = [{"key": GCS_CREDENTIALS_KEY, "path": "gcs.json"}]
        pairs.append(
            (
                {
                    "name": "gcs-credentials",
                    "secret": {"secretName": plan.secret_name, "items": items},
                },
                {"name": "gcs-credentials", "mountPath": CREDENTIALS_MOUNT},
            )
        )
    pairs += _mover_volumes(plan.spec)
    if settings.repository_volume is not None and all(
        volume["name"] != REPOSITORY_VOLUME for volume, _ in pairs
    ):
        pairs.append(
            (
                {"name": REPOSITORY_VOLUME, **settings.repository_volume},
                {"name": REPOSITORY_VOLUME, "mountPath": REPOSITORY_MOUNT},
            )
        )
    return [volume for volume, _ in pairs], [mount for _, mount in pairs]


def _mover_volumes(spec: protocol.EngineSpec) -> list[tuple[JsonObject, JsonObject]]:
    """Return ``moverVolumes`` as upstream mounts them: ``u-<path>`` at ``/mnt/<path>``."""
    pairs: list[tuple[JsonObject, JsonObject]] = []
    for item in spec.mover_volumes or []:
        name = "u-" + item.mount_path.replace("/", "-")
        sources = item.volume_source.to_dict()
        pairs.append(
            (
                {"name": name, **sources},
                {"name": name, "mountPath": f"/mnt/{item.mount_path}"},
            )
        )
    return pairs


def drill_job(
    plan: JobPlan,
    settings: JobSettings,
    *,
    environment: Mapping[str, str],
    check: tuple[str, str] | None,
    annotations: Mapping[str, str],
    deadline_seconds: int,
) -> JsonObject:
    """Return a restore drill's Job: the mover restores into the scratch claim and verifies it;
    ``check`` (image, shell command), when given, runs after it with the restored data read-only
    at /data (the mover is then the pod's init container). No retries: a drill that fails says
    so. Not temporary: a sync ending meanwhile must not clean it up."""
    engine = _container(plan, settings)
    pod_spec = _pod_spec(plan, settings, engine)
    mover = pod_spec["containers"][0]
    mover["env"] += [{"name": name, "value": value} for name, value in environment.items()]
    if check is not None:
        image, command = check
        pod_spec["initContainers"] = [mover]
        pod_spec["containers"] = [
            {
                "name": DRILL_CHECK_CONTAINER,
                "image": image,
                "command": ["sh", "-c", command],
                "volumeMounts": [{"name": "data", "mountPath": DATA_MOUNT, "readOnly": True}],
                "securityContext": mover["securityContext"],
            }
        ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata.object_metadata(plan.owner, plan.name, annotations=annotations),
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline_seconds,
            "template": {
                "metadata": {"labels": {metadata.CREATED_BY_LABEL: metadata.CREATED_BY_VALUE}},
                "spec": pod_spec,
            },
        },
    }
