"""``pyvolsync snapshots NAME``: the restic snapshots in an object's repository.

The repository's password stays in the cluster: the listing runs as a short-lived Job in the
object's namespace, with the mover image, the repository Secret passed by reference (as the
mover Job does) and the same repository volume, and prints ``restic snapshots --json`` to its
log, which is all the CLI reads. The Job is deleted afterwards.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import secrets
import time
from collections.abc import Mapping
from typing import Annotated, Any

import rich.console
import rich.table
import typer
import yaml

from pyvolsync import contract
from pyvolsync.api import timestamps
from pyvolsync.cli import actions, session, views
from pyvolsync.kube import client, errors
from pyvolsync.movers import jobs as job_plan
from pyvolsync.movers.restic import engine as restic_engine

JOB_DEADLINE_SECONDS = 300
POLL_SECONDS = 1.0
OPERATOR_VOLUME_VARIABLES = ("PYVOLSYNC_REPOSITORY_NFS", "PYVOLSYNC_REPOSITORY_VOLUME")

RepositoryNfsOption = Annotated[
    str | None,
    typer.Option(
        "--repository-nfs",
        help="SERVER:/PATH mounted at /repository (default: the operator Deployment's setting).",
    ),
]
MoverImageOption = Annotated[
    str | None,
    typer.Option("--mover-image", help="Mover image (default: the operator Deployment's)."),
]


def repository_volume_from_nfs(text: str) -> dict[str, Any]:
    """Return the volume source for ``SERVER:/PATH``; raise UserError when it is not that."""
    server, separator, path = text.partition(":")
    if not separator or not server or not path.startswith("/"):
        raise session.UserError(f"--repository-nfs: {text!r} is not SERVER:/PATH")
    return {"nfs": {"server": server, "path": path}}


def listing_job(
    obj: Mapping[str, Any],
    *,
    secret_keys: frozenset[str],
    image: str,
    repository_volume: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Return the Job that prints the repository's snapshots as one JSON line."""
    meta, restic = obj["metadata"], (obj.get("spec") or {}).get("restic") or {}
    secret = restic["repository"]
    env = [
        job_plan.secret_env(secret, str(key), optional=False)
        for key in restic_engine.REQUIRED_SECRET_KEYS
    ]
    env += [
        job_plan.secret_env(secret, key, optional=True)
        for key in restic_engine.OPTIONAL_SECRET_KEYS
        if key in secret_keys
    ]
    volumes, mounts = _volumes(restic, repository_volume)
    container = {
        "name": "restic",
        "image": image,
        "command": [
            "restic", "snapshots", "--json", "--no-lock", "--no-cache",
            "--host", contract.RESTIC_HOST,
        ],
        "env": env,
        "volumeMounts": mounts,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        },
    }  # fmt: skip
    pod: dict[str, Any] = {"restartPolicy": "Never", "containers": [container], "volumes": volumes}
    if restic.get("moverSecurityContext"):
        pod["securityContext"] = restic["moverSecurityContext"]
    name = f"pyvolsync-snapshots-{meta['name']}"[:52] + f"-{secrets.token_hex(3)}"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": {"app.kubernetes.io/created-by": "pyvolsync-cli"},
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": JOB_DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": 600,
            "template": {"spec": pod},
        },
    }


def _volumes(
    restic: Mapping[str, Any], repository_volume: Mapping[str, Any] | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the moverVolumes (as the mover mounts them), the repository volume, and /tmp."""
    volumes: list[dict[str, Any]] = [{"name": "tempdir", "emptyDir": {"medium": "Memory"}}]
    mounts: list[dict[str, Any]] = [{"name": "tempdir", "mountPath": "/tmp"}]
    for item in restic.get("moverVolumes") or []:
        name = "u-" + item["mountPath"].replace("/", "-")
        volumes.append({"name": name, **item["volumeSource"]})
        mounts.append({"name": name, "mountPath": f"/mnt/{item['mountPath']}"})
    if repository_volume is not None:
        volumes.append({"name": job_plan.REPOSITORY_VOLUME, **repository_volume})
        mounts.append({"name": job_plan.REPOSITORY_VOLUME, "mountPath": job_plan.REPOSITORY_MOUNT})
    return volumes, mounts


def parse_listing(log: str) -> list[dict[str, Any]] | None:
    """Return the snapshots from the Job's log (the line holding a JSON list), oldest first."""
    for line in log.splitlines():
        if line.startswith("["):
            try:
                found = json.loads(line)
            except ValueError:
                continue
            if isinstance(found, list):
                return sorted(found, key=lambda item: str(item.get("time", "")))
    return None


def utc_time(text: str) -> str:
    """Return restic's time (nanoseconds, any offset) as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC.

    That is the form ``restore --as-of`` takes, so a time copied from the listing selects
    that snapshot.
    """
    trimmed = re.sub(r"(\.\d{1,6})\d*", r"\1", text)
    parsed = timestamps.parse_time(trimmed)
    if parsed is None or parsed.tzinfo is None:
        return text
    return parsed.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def snapshot_row(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """Return what ``snapshots`` shows of one snapshot."""
    summary = snapshot.get("summary") or {}
    return {
        "time": utc_time(str(snapshot.get("time", ""))),
        "id": snapshot.get("short_id") or str(snapshot.get("id", ""))[: views.SHORT_ID_LENGTH],
        "size": summary.get("total_bytes_processed"),
        "tags": list(snapshot.get("tags") or []),
        "hostname": snapshot.get("hostname", ""),
        "paths": list(snapshot.get("paths") or []),
    }


def snapshots_table(rows: list[dict[str, Any]]) -> rich.table.Table:
    """Return the table of ``snapshots``."""
    table = rich.table.Table(box=None, pad_edge=False, header_style="bold")
    for column in ("TIME", "ID", "SIZE", "TAGS", "HOST", "PATHS"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["time"],
            row["id"],
            views.size(row["size"]),
            ", ".join(row["tags"]) or "-",
            row["hostname"],
            ", ".join(row["paths"]),
        )
    return table


async def operator_settings(kube: client.Kube) -> dict[str, str]:
    """Return the operator Deployment's PYVOLSYNC_* environment, or {} when none is readable."""
    try:
        deployments = await kube.list(
            client.Kind.DEPLOYMENT, labels={"app.kubernetes.io/name": "pyvolsync"}
        )
    except errors.KubeError:
        return {}
    for deployment in deployments:
        for container in deployment["spec"]["template"]["spec"].get("containers") or []:
            env = {
                item["name"]: item.get("value", "")
                for item in container.get("env") or []
                if "value" in item
            }
            if "PYVOLSYNC_MOVER_IMAGE" in env or any(
                key in env for key in OPERATOR_VOLUME_VARIABLES
            ):
                return env
    return {}


def _repository_volume(nfs: str | None, settings: Mapping[str, str]) -> dict[str, Any] | None:
    if nfs:
        return repository_volume_from_nfs(nfs)
    if settings.get("PYVOLSYNC_REPOSITORY_NFS"):
        return repository_volume_from_nfs(settings["PYVOLSYNC_REPOSITORY_NFS"])
    if settings.get("PYVOLSYNC_REPOSITORY_VOLUME"):
        parsed = yaml.safe_load(settings["PYVOLSYNC_REPOSITORY_VOLUME"])
        return dict(parsed) if isinstance(parsed, dict) else None
    return None


async def run_listing(kube: client.Kube, job: dict[str, Any], *, timeout: float, owner: str) -> str:
    """Run the listing Job; return its pod's log; delete the Job (and its pod) in any case."""
    namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
    await kube.create(job)
    try:
        deadline = time.monotonic() + timeout
        while True:
            state = ((await kube.get(client.Kind.JOB, name, namespace=namespace)) or {}).get(
                "status"
            ) or {}
            if state.get("succeeded") or state.get("failed"):
                break
            if time.monotonic() > deadline:
                raise session.UserError(
                    f"the listing Job {namespace}/{name} did not finish in {timeout:g} s; "
                    f"see `kubectl describe job {name} -n {namespace}`"
                )
            await asyncio.sleep(POLL_SECONDS)
        pods = await kube.list(client.Kind.POD, namespace=namespace, labels={"job-name": name})
        log = "".join(
            [
                await kube.pod_log(pod["metadata"]["name"], namespace=namespace, container="restic")
                for pod in pods
            ]
        )
    finally:
        await kube.delete(client.Kind.JOB, name, namespace=namespace)
    if not state.get("succeeded"):
        last = [line for line in log.splitlines() if line.strip()][-3:]
        raise session.UserError(
            "restic could not list the repository: "
            + (" | ".join(last) or "no log")
            + f"; check the Secret and the repository volume (`pyvolsync describe {owner}`)"
        )
    return log


def snapshots(
    name: actions.NameArgument,
    *,
    output: Annotated[str, typer.Option("--output", "-o", help="table or json.")] = "table",
    repository_nfs: RepositoryNfsOption = None,
    mover_image: MoverImageOption = None,
    timeout: actions.TimeoutOption = JOB_DEADLINE_SECONDS,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """List the restic snapshots in NAME's repository (a short Job in its namespace)."""
    target = session.Target(kubeconfig, context, namespace)
    console = rich.console.Console()

    async def body(kube: client.Kube) -> None:
        obj = await session.find(kube, name, namespace=target.namespace_of(kube), role=kind)
        secret_name = ((obj.get("spec") or {}).get("restic") or {}).get("repository")
        if not secret_name:
            raise session.UserError(f"{name!r} has no spec.restic.repository")
        where = obj["metadata"]["namespace"]
        secret = await kube.get(client.Kind.SECRET, secret_name, namespace=where)
        if secret is None:
            raise session.UserError(
                f"the repository Secret {secret_name!r} does not exist in namespace {where!r}"
            )
        settings = await operator_settings(kube)
        job = listing_job(
            obj,
            secret_keys=frozenset(secret.get("data") or {}),
            image=mover_image
            or settings.get("PYVOLSYNC_MOVER_IMAGE")
            or session.DEFAULT_MOVER_IMAGE,
            repository_volume=_repository_volume(repository_nfs, settings),
        )
        listed = parse_listing(await run_listing(kube, job, timeout=timeout, owner=name))
        if listed is None:
            raise session.UserError("the listing Job printed no snapshot list; see its log")
        found = [snapshot_row(item) for item in listed]
        if output == "json":
            typer.echo(json.dumps(found, indent=2))
        elif not found:
            console.print(f"no snapshots in the repository of {where}/{name}")
        else:
            console.print(snapshots_table(found))

    session.run(body, target)
