"""Running one app hook: a command in the app's pod, a Job of the user's image, or a URL call.

``run`` does the whole hook and returns how it went; it never raises for what the hook itself
did (a non-zero exit, a timeout, an HTTP 500, a pod that is gone), so a broken hook is reported
and never loses a backup by accident. The repository's Secret is never handed to a hook: the
exec runs in the app's own container, the Job gets only the source's name and the moment, and
the URL gets a JSON body with the same.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from pyvolsync import __version__
from pyvolsync.kube import client as kube_client
from pyvolsync.kube.client import Kind
from pyvolsync.movers import iteration
from pyvolsync.movers.hooksettings import Hook, Moment, annotation, hook_job_name
from pyvolsync.movers.hooksettings import Kind as HookKind
from pyvolsync.planning import metadata

logger = logging.getLogger(__name__)
JsonObject = dict[str, Any]
JOB_POLL_SECONDS = 1.0
MESSAGE_LIMIT = 512
HOOK_CONTAINER = "hook"
USER_AGENT = f"pyvolsync-hook/{__version__}"


class Result(enum.StrEnum):
    """How a hook went."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    """Nothing to run it in: no running pod mounts the source's PVC (nor has its labels)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    """How a hook went, and what to tell a person."""

    result: Result
    message: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Target:
    """Whose hook it is: the source and, for an after hook, how its backup went."""

    owner: metadata.Owner
    claim: str
    """The source's PVC (the app's pod is the running pod that mounts it)."""
    backup_succeeded: bool | None = None


async def run(kube: kube_client.Kube, hook: Hook, target: Target) -> Outcome:
    """Run ``hook`` to its end or its timeout."""
    match hook.kind:
        case HookKind.EXEC:
            return await _exec(kube, hook, target)
        case HookKind.JOB:
            return await _job(kube, hook, target)
        case _:
            return await _call(hook, target)


# --- exec in the app's pod ------------------------------------------------------------------


async def _exec(kube: kube_client.Kube, hook: Hook, target: Target) -> Outcome:
    pod = await _app_pod(kube, hook, target)
    if pod is None:
        where = (
            "with labels " + ",".join(f"{key}={value}" for key, value in hook.pod_selector)
            if hook.pod_selector
            else f"mounts PVC {target.claim}"
        )
        return Outcome(
            result=Result.SKIPPED,
            message=f"no running pod {where} in namespace {target.owner.namespace}, "
            "so nothing writes to it; the backup goes on "
            f"(the app's pod is chosen by {annotation(hook.moment, 'pod')})",
        )
    name = pod["metadata"]["name"]
    container, problem = _container(pod, hook, target.claim)
    if problem:
        return Outcome(result=Result.FAILED, message=problem)
    ran = await kube.exec(
        target.owner.namespace,
        name,
        container,
        hook.command,
        timeout=hook.timeout.total_seconds(),
    )
    where = f"in pod {name}, container {container}"
    if ran.timed_out:
        return Outcome(
            result=Result.FAILED,
            message=f"did not finish within {hook.timeout} {where}; it was stopped",
        )
    if ran.error and ran.exit_code is None:
        return Outcome(result=Result.FAILED, message=f"{where}: {ran.error}")
    if ran.exit_code:
        said = _last_words(ran.stderr) or ran.error
        return Outcome(
            result=Result.FAILED, message=f"exit code {ran.exit_code} {where}{_colon(said)}"
        )
    return Outcome(result=Result.SUCCEEDED, message=f"ran {where}")


async def _app_pod(kube: kube_client.Kube, hook: Hook, target: Target) -> JsonObject | None:
    if not hook.pod_selector:
        pod = await iteration.pod_using_claim(kube, target.owner.namespace, target.claim)
        return pod if pod is not None and _running(pod) else None
    found = await kube.list(
        Kind.POD, namespace=target.owner.namespace, labels=dict(hook.pod_selector)
    )
    running = sorted(
        (pod for pod in found if _running(pod)), key=lambda pod: pod["metadata"]["name"]
    )
    return running[0] if running else None


def _running(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and not pod["metadata"].get(
        "deletionTimestamp"
    )


def _container(pod: Mapping[str, Any], hook: Hook, claim: str) -> tuple[str, str]:
    """Return the container to run in (the named one, else the one mounting the PVC)."""
    containers = [container["name"] for container in pod["spec"].get("containers") or []]
    if hook.container:
        if hook.container in containers:
            return hook.container, ""
        return "", (
            f"pod {pod['metadata']['name']} has no container {hook.container!r} "
            f"(it has {', '.join(containers)}); fix {hook.moment} hook's container"
        )
    volumes = {
        volume["name"]
        for volume in pod["spec"].get("volumes") or []
        if (volume.get("persistentVolumeClaim") or {}).get("claimName") == claim
    }
    for container in pod["spec"].get("containers") or []:
        if any(mount.get("name") in volumes for mount in container.get("volumeMounts") or []):
            return container["name"], ""
    return containers[0], ""


def _last_words(text: str) -> str:
    """Return the last lines of what a hook printed, at most MESSAGE_LIMIT characters."""
    stripped = text.strip()
    return stripped[-MESSAGE_LIMIT:] if stripped else ""


def _colon(text: str) -> str:
    return f": {text}" if text else ""


# --- a Job of the user's image ----------------------------------------------------------------


def hook_job(hook: Hook, target: Target) -> JsonObject:
    """Return the Job a Job hook runs: its image and command, the source named in its
    environment, no retries, and no Secret of ours."""
    container: JsonObject = {
        "name": HOOK_CONTAINER,
        "image": hook.image,
        "env": [
            {"name": name, "value": value} for name, value in _environment(hook, target).items()
        ],
    }
    if hook.command:
        container["command"] = list(hook.command)
    pod_spec: JsonObject = {"restartPolicy": "Never", "containers": [container]}
    if hook.service_account:
        pod_spec["serviceAccountName"] = hook.service_account
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata.object_metadata(target.owner, hook_job_name(target.owner.name)),
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": max(int(hook.timeout.total_seconds()), 1),
            "template": {
                "metadata": {"labels": {metadata.CREATED_BY_LABEL: metadata.CREATED_BY_VALUE}},
                "spec": pod_spec,
            },
        },
    }


def _environment(hook: Hook, target: Target) -> dict[str, str]:
    found = {
        "PYVOLSYNC_SOURCE": target.owner.name,
        "PYVOLSYNC_NAMESPACE": target.owner.namespace,
        "PYVOLSYNC_MOMENT": str(hook.moment),
    }
    if target.backup_succeeded is not None:
        found["PYVOLSYNC_BACKUP_SUCCEEDED"] = "true" if target.backup_succeeded else "false"
    return found


async def _job(kube: kube_client.Kube, hook: Hook, target: Target) -> Outcome:
    name = hook_job_name(target.owner.name)
    namespace = target.owner.namespace
    job = await kube.get(Kind.JOB, name, namespace=namespace)
    if job is not None and _job_started_for_other(job, hook):
        await kube.delete(Kind.JOB, name, namespace=namespace)
        job = None
    if job is None:
        job = await kube.create(hook_job(hook, target))
    try:
        return await asyncio.wait_for(
            _job_outcome(kube, name, namespace), timeout=hook.timeout.total_seconds() + 10
        )
    except TimeoutError:
        return Outcome(
            result=Result.FAILED, message=f"Job {name} did not finish within {hook.timeout}"
        )
    finally:
        await kube.delete(Kind.JOB, name, namespace=namespace)


def _job_started_for_other(job: Mapping[str, Any], hook: Hook) -> bool:
    """Return True for a left-over Job of the other moment (an operator stopped meanwhile)."""
    containers = job["spec"]["template"]["spec"].get("containers") or []
    env = {item["name"]: item.get("value") for item in (containers[0].get("env") or [])}
    return env.get("PYVOLSYNC_MOMENT") != str(hook.moment)


async def _job_outcome(kube: kube_client.Kube, name: str, namespace: str) -> Outcome:
    while True:
        job = await kube.get(Kind.JOB, name, namespace=namespace)
        if job is None:
            return Outcome(result=Result.FAILED, message=f"Job {name} was deleted meanwhile")
        if iteration.job_condition(job, "Complete"):
            said = _last_words(await _job_log(kube, job, phase="Succeeded"))
            return Outcome(result=Result.SUCCEEDED, message=f"Job {name} completed{_colon(said)}")
        if iteration.job_condition(job, "Failed"):
            said = _last_words(await _job_log(kube, job, phase="Failed"))
            reason = _failed_reason(job)
            return Outcome(result=Result.FAILED, message=f"Job {name} failed{reason}{_colon(said)}")
        await asyncio.sleep(JOB_POLL_SECONDS)


def _failed_reason(job: Mapping[str, Any]) -> str:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            return f" ({condition.get('reason') or 'Failed'})"
    return ""


async def _job_log(kube: kube_client.Kube, job: JsonObject, *, phase: str) -> str:
    pod = await iteration.latest_pod(kube, job, phase=phase)
    if pod is None:
        return ""
    namespace = pod["metadata"]["namespace"]
    return await kube.pod_log(
        pod["metadata"]["name"], namespace=namespace, container=HOOK_CONTAINER, tail_lines=5
    )


# --- a URL ---------------------------------------------------------------------------------------


async def _call(hook: Hook, target: Target) -> Outcome:
    body: JsonObject = {
        "source": target.owner.name,
        "namespace": target.owner.namespace,
        "moment": str(hook.moment),
    }
    if target.backup_succeeded is not None:
        body["backupSucceeded"] = target.backup_succeeded
    seconds = hook.timeout.total_seconds()
    try:
        status, said = await asyncio.wait_for(
            asyncio.to_thread(_post, hook.url, body, seconds), timeout=seconds + 1
        )
    except TimeoutError:
        return Outcome(
            result=Result.FAILED, message=f"{hook.url} did not answer within {hook.timeout}"
        )
    except OSError as error:
        reason = getattr(error, "reason", error)
        return Outcome(result=Result.FAILED, message=f"{hook.url} cannot be reached: {reason}")
    if 200 <= status < 300:
        return Outcome(result=Result.SUCCEEDED, message=f"{hook.url} answered {status}")
    return Outcome(
        result=Result.FAILED, message=f"{hook.url} answered {status}{_colon(_last_words(said))}"
    )


def _post(url: str, body: JsonObject, timeout: float) -> tuple[int, str]:
    """POST ``body`` as JSON; return the HTTP status and the start of the answer (any status)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(MESSAGE_LIMIT).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(MESSAGE_LIMIT).decode(errors="replace")


def describe(moment: Moment, outcome: Outcome) -> str:
    """Return the one-line account of a hook for events and notifications."""
    return f"{moment} hook {outcome.result.lower()}: {outcome.message}"
