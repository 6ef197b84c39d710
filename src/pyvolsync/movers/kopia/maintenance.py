"""The Job that runs kopia's full maintenance for one KopiaMaintenance, planned once per run.

It runs ``pyvolsync-mover kopia maintenance`` with the repository Secret's keys, as the
maintenance identity ``maintenance-<name>@<namespace>``. The mover refuses to run when another
identity owns the repository's maintenance, unless this object says to take it over (the
``pyvolsync.dev/take-over-maintenance: "true"`` annotation): a takeover is a decision a person
makes once, never something a scheduled run does by force.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pyvolsync import contract
from pyvolsync.api import defaults, maintenance
from pyvolsync.contract import KopiaEnvVar as Var
from pyvolsync.movers import jobs
from pyvolsync.movers.kopia import engine
from pyvolsync.planning import metadata, security

JsonObject = dict[str, Any]
JOB_PREFIX = "volsync-maintenance-"
TAKEOVER_ANNOTATION = "pyvolsync.dev/take-over-maintenance"
SCRATCH_MOUNT = "/tmp"
NOT_AN_IDENTITY_CHARACTER = re.compile(r"[^A-Za-z0-9._-]")


def job_name(name: str) -> str:
    """``volsync-maintenance-<name>``, shortened to a label value's 63 characters."""
    return (JOB_PREFIX + name)[:63].rstrip("-.")


def identity(obj: Mapping[str, Any]) -> tuple[str, str]:
    """(username, hostname) maintenance runs as: ``maintenance-<name>`` at the namespace."""
    meta = obj["metadata"]
    username = NOT_AN_IDENTITY_CHARACTER.sub("", f"maintenance-{meta['name']}")[:50]
    return username.rstrip("._-"), meta["namespace"]


def takeover_requested(obj: Mapping[str, Any]) -> bool:
    """Whether a person asked this object to take maintenance ownership over."""
    annotations = obj["metadata"].get("annotations") or {}
    return str(annotations.get(TAKEOVER_ANNOTATION, "")).lower() == "true"


def maintenance_job(
    obj: Mapping[str, Any],
    spec: maintenance.KopiaMaintenanceSpec,
    *,
    secret_keys: frozenset[str],
    settings: jobs.JobSettings,
    takeover_from: tuple[str, ...] = (),
) -> JsonObject:
    """Return the maintenance Job for the KopiaMaintenance ``obj``; it takes maintenance over
    without being told from the ``takeover_from`` owners (``user@host`` of the sources that
    write the repository)."""
    owner = metadata.Owner.of(obj)
    labels = {metadata.CREATED_BY_LABEL: metadata.CREATED_BY_VALUE, **(spec.mover_pod_labels or {})}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata.object_metadata(owner, job_name(owner.name), temporary=True),
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": defaults.maintenance_active_deadline_seconds(spec),
            "template": {
                "metadata": {"labels": labels},
                "spec": _pod_spec(
                    obj,
                    spec,
                    secret_keys=secret_keys,
                    settings=settings,
                    takeover_from=takeover_from,
                ),
            },
        },
    }


def _pod_spec(
    obj: Mapping[str, Any],
    spec: maintenance.KopiaMaintenanceSpec,
    *,
    secret_keys: frozenset[str],
    settings: jobs.JobSettings,
    takeover_from: tuple[str, ...],
) -> JsonObject:
    volumes, mounts = _volumes(spec, settings)
    container: JsonObject = {
        "name": engine.CONTAINER_NAME,
        "image": settings.image,
        "command": ["pyvolsync-mover", "kopia"],
        "args": [str(contract.Operation.MAINTENANCE)],
        "env": _environment(obj, spec, secret_keys=secret_keys, takeover_from=takeover_from),
        "volumeMounts": mounts,
        "securityContext": dict(spec.container_security_context)
        if spec.container_security_context
        else security.container_security_context(
            privileged=False, pod_context=spec.pod_security_context
        ),
        "resources": dict(spec.resources or {}),
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    pod: JsonObject = {"restartPolicy": "Never", "containers": [container], "volumes": volumes}
    optional = {
        "serviceAccountName": spec.service_account_name,
        "securityContext": dict(spec.pod_security_context) if spec.pod_security_context else None,
        "nodeSelector": dict(spec.node_selector) if spec.node_selector else None,
        "tolerations": [dict(item) for item in spec.tolerations] if spec.tolerations else None,
        "affinity": dict(spec.affinity) if spec.affinity else None,
    }
    pod.update({key: value for key, value in optional.items() if value})
    return pod


def _environment(
    obj: Mapping[str, Any],
    spec: maintenance.KopiaMaintenanceSpec,
    *,
    secret_keys: frozenset[str],
    takeover_from: tuple[str, ...],
) -> list[JsonObject]:
    username, hostname = identity(obj)
    plain = [
        (contract.EnvVar.DATA_DIR, SCRATCH_MOUNT),
        (Var.CACHE_DIR, jobs.CACHE_MOUNT),
        (Var.OVERRIDE_USERNAME, username),
        (Var.OVERRIDE_HOSTNAME, hostname),
        (Var.OVERRIDE_MAINTENANCE_USERNAME, username),
        (Var.OVERRIDE_MAINTENANCE_HOSTNAME, hostname),
        (Var.MAINTENANCE_TAKEOVER, "true" if takeover_requested(obj) else "false"),
        (Var.MAINTENANCE_TAKEOVER_FROM, ",".join(sorted(set(takeover_from)))),
    ]
    secret = spec.repository.repository
    env: list[JsonObject] = [{"name": name, "value": value} for name, value in plain]
    env += [jobs.secret_env(secret, key, optional=False) for key in engine.REQUIRED_SECRET_KEYS]
    env += [
        jobs.secret_env(secret, key, optional=True)
        for key in engine.OPTIONAL_SECRET_KEYS
        if key in secret_keys
    ]
    return env


def _volumes(
    spec: maintenance.KopiaMaintenanceSpec, settings: jobs.JobSettings
) -> tuple[list[JsonObject], list[JsonObject]]:
    cache: JsonObject = (
        {"persistentVolumeClaim": {"claimName": spec.cache_pvc}}
        if spec.cache_pvc
        else {"emptyDir": {}}
    )
    volumes = [
        {"name": "cache", **cache},
        {"name": "tempdir", "emptyDir": {"medium": "Memory"}},
    ]
    mounts = [
        {"name": "cache", "mountPath": jobs.CACHE_MOUNT},
        {"name": "tempdir", "mountPath": SCRATCH_MOUNT},
    ]
    for item in spec.mover_volumes or []:
        name = "u-" + item.mount_path.replace("/", "-")
        volumes.append({"name": name, **item.volume_source.to_dict()})
        mounts.append({"name": name, "mountPath": f"/mnt/{item.mount_path}"})
    if settings.repository_volume is not None and all(
        volume["name"] != jobs.REPOSITORY_VOLUME for volume in volumes
    ):
        volumes.append({"name": jobs.REPOSITORY_VOLUME, **settings.repository_volume})
        mounts.append({"name": jobs.REPOSITORY_VOLUME, "mountPath": jobs.REPOSITORY_MOUNT})
    return volumes, mounts
