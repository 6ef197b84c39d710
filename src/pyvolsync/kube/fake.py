"""An in-memory ``Kube`` for fast tests of the reconciler's decisions, without a cluster.

It keeps objects as dicts, as the API server would hand them back: creation fills in a uid, a
resourceVersion, a creationTimestamp and (for custom resources) a generation; a merge patch
follows RFC 7386; a status patch changes only ``status``; list filters by namespace and labels.
It does not run controllers: a test plays the Job controller and the kubelet by editing
objects (``set_status``), setting pod logs and programming what ``exec`` answers
(``exec_results``). The integration tests on the real control plane remain the proof; this only
makes each engine's decisions, retries and slots cheap to test.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import datetime
import itertools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, cast

from pyvolsync import contract
from pyvolsync.kube import client, errors, podexec

JsonObject = dict[str, Any]
Key = tuple[client.Kind, str, str]
CUSTOM_GROUPS = ("volsync.backube/",)


@dataclasses.dataclass(frozen=True)
class ExecCall:
    """One ``exec`` a test's code made."""

    namespace: str
    pod: str
    container: str
    command: tuple[str, ...]
    timeout: float


ExecAnswer = podexec.ExecResult | Callable[[ExecCall], podexec.ExecResult]


def merge_patch(target: Any, patch: Any) -> Any:
    """Return ``target`` with the JSON merge patch ``patch`` applied (RFC 7386)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class FakeKube(client.Kube):
    """The cluster as a dict; Events are recorded through the real ``Kube.event``."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        super().__init__(cast(Any, None), instance="fake", clock=clock)
        self.objects: dict[Key, JsonObject] = {}
        self.logs: dict[tuple[str, str], str] = {}
        self.changes: list[tuple[int, str, JsonObject]] = []
        """Every change as a watch reports it: (resourceVersion, event type, object)."""
        self._changed = asyncio.Condition()
        self._versions = itertools.count(1)
        self._watcher_ids = itertools.count(1)
        self._waiting_watchers: dict[int, int] = {}
        """Each open watch, by id: the last change it had handled when it last waited."""
        self.user = "fake-user"
        self.denied: set[tuple[str, str]] = set()
        """(verb, resource) pairs the fake user may not do (``allowed`` answers False)."""
        self.exec_results: dict[tuple[str, ...], ExecAnswer] = {}
        """What ``exec`` answers per command line (a callable gets the call); a command not
        listed exits 127 as not found. The pod must be stored and not finished."""
        self.exec_calls: list[ExecCall] = []
        """Every ``exec``, in order."""

    # --- what tests use to play the controllers ------------------------------------------

    def put(self, obj: Mapping[str, Any]) -> JsonObject:
        """Store ``obj`` as created (filling in what the API server would), and return it."""
        stored = copy.deepcopy(dict(obj))
        meta = stored.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{meta['name']}-{next(self._versions)}")
        meta.setdefault("creationTimestamp", _timestamp(self.clock()))
        if str(stored.get("apiVersion", "")).startswith(CUSTOM_GROUPS):
            meta.setdefault("generation", 1)
        meta["resourceVersion"] = str(next(self._versions))
        key = _key(stored)
        self._record("MODIFIED" if key in self.objects else "ADDED", stored)
        self.objects[key] = stored
        return copy.deepcopy(stored)

    def _record(self, event_type: str, obj: JsonObject) -> None:
        version = int(obj["metadata"]["resourceVersion"])
        self.changes.append((version, event_type, copy.deepcopy(obj)))
        with contextlib.suppress(RuntimeError):  # no event loop: nobody can be watching
            asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def set_status(self, kind: client.Kind, name: str, namespace: str, status: JsonObject) -> None:
        """Replace an object's status, as a controller would."""
        self.objects[(kind, namespace, name)]["status"] = copy.deepcopy(status)

    def finish_job(
        self,
        job: Mapping[str, Any],
        result: contract.MoverResult,
        *,
        completed: str | None = None,
        log: str = "",
    ) -> None:
        """Play the Job controller and the kubelet: ``job``'s pod ended with ``result``."""
        meta = job["metadata"]
        succeeded = result.outcome.ok
        condition = {"type": "Complete" if succeeded else "Failed", "status": "True"}
        status: JsonObject = {"conditions": [condition]}
        if completed:
            status["completionTime"] = completed
        self.set_status(client.Kind.JOB, meta["name"], meta["namespace"], status)
        container = job["spec"]["template"]["spec"]["containers"][0]
        pod_name = f"{meta['name']}-x1"
        terminated = {"exitCode": int(result.exit_code), "message": result.to_json()}
        state = {
            "name": container["name"],
            "image": container["image"],
            "imageID": container["image"],
            "ready": False,
            "restartCount": 0,
            "state": {"terminated": terminated},
        }
        self.put(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod_name,
                    "namespace": meta["namespace"],
                    "labels": {"batch.kubernetes.io/controller-uid": meta["uid"]},
                },
                "spec": {"containers": [{"name": container["name"], "image": container["image"]}]},
                "status": {
                    "phase": "Succeeded" if succeeded else "Failed",
                    "containerStatuses": [state],
                },
            }
        )
        self.logs[(meta["namespace"], pod_name)] = log

    def stored(self, kind: client.Kind, name: str, namespace: str = "") -> JsonObject | None:
        """Return the stored object (not a copy) or None."""
        return self.objects.get((kind, namespace, name))

    @property
    def events(self) -> list[JsonObject]:
        """Every Event recorded (in any namespace), oldest first."""
        return [obj for (kind, _, _), obj in self.objects.items() if kind is client.Kind.EVENT]

    def all_of(self, kind: client.Kind, namespace: str = "") -> list[JsonObject]:
        """Return every stored object of ``kind`` in ``namespace``."""
        return [
            obj
            for (found, space, _), obj in self.objects.items()
            if (found, space) == (kind, namespace)
        ]

    # --- the Kube interface ---------------------------------------------------------------

    async def get(
        self, kind: client.Kind, name: str, *, namespace: str | None = None
    ) -> JsonObject | None:
        found = self.objects.get((kind, namespace or "", name))
        return copy.deepcopy(found) if found is not None else None

    async def list(
        self,
        kind: client.Kind,
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> list[JsonObject]:
        wanted = dict(labels or {})
        return [
            copy.deepcopy(obj)
            for (found, space, _), obj in sorted(self.objects.items(), key=lambda item: item[0][1:])
            if found is kind
            and (namespace in (None, "*") or space == namespace)
            and wanted.items() <= (obj["metadata"].get("labels") or {}).items()
        ]

    async def create(self, obj: Mapping[str, Any]) -> JsonObject:
        existing = self.objects.get(_key(obj))
        if existing is not None:
            return copy.deepcopy(existing)
        return self.put(obj)

    async def replace(self, obj: Mapping[str, Any]) -> JsonObject:
        current = self.objects.get(_key(obj))
        if current is None:
            raise errors.NotFoundError(f"{obj['kind']} {obj['metadata']['name']} not found")
        if obj["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise errors.ConflictError("the object has been modified", code=409)
        return self.put(obj)

    async def delete(
        self,
        kind: client.Kind,
        name: str,
        *,
        namespace: str | None = None,
        foreground: bool = False,
    ) -> None:
        removed = self.objects.pop((kind, namespace or "", name), None)
        if removed is not None:
            removed["metadata"]["resourceVersion"] = str(next(self._versions))
            self._record("DELETED", removed)

    async def patch(
        self,
        kind: client.Kind,
        name: str,
        patch: Mapping[str, Any],
        *,
        namespace: str | None = None,
        status: bool = False,
    ) -> JsonObject:
        key = (kind, namespace or "", name)
        current = self.objects.get(key)
        if current is None:
            raise errors.NotFoundError(f"{kind.name} {name} not found", code=404)
        allowed = {"status": patch.get("status")} if status else patch
        patched = merge_patch(current, allowed)
        patched["metadata"]["resourceVersion"] = str(next(self._versions))
        self.objects[key] = patched
        self._record("MODIFIED", patched)
        return copy.deepcopy(patched)

    async def list_at(
        self,
        kind: client.Kind,
        *,
        labels: Mapping[str, str] | None = None,
        namespace: str | None = None,
    ) -> tuple[client.JsonObjects, str | None]:
        found = await self.list(kind, labels=labels, namespace=namespace)
        return found, str(next(self._versions))

    async def watch(
        self,
        kind: client.Kind,
        *,
        resource_version: str | None,
        labels: Mapping[str, str] | None = None,
        namespace: str | None = None,
    ) -> AsyncIterator[tuple[str, JsonObject]]:
        seen = int(resource_version or 0)
        wanted = dict(labels or {}).items()
        watcher = next(self._watcher_ids)
        self._waiting_watchers[watcher] = 0
        try:
            while True:
                for version, event_type, obj in list(self.changes):
                    if version <= seen:
                        continue
                    seen = version
                    if (
                        client.kind_of(obj) is kind
                        and namespace in (None, obj["metadata"].get("namespace"))
                        and wanted <= (obj["metadata"].get("labels") or {}).items()
                    ):
                        yield event_type, copy.deepcopy(obj)
                self._waiting_watchers[watcher] = seen
                async with self._changed:
                    await self._changed.wait()
        finally:
            del self._waiting_watchers[watcher]

    def watches_caught_up(self) -> bool:
        """Whether every open watch has handled every change and waits for the next."""
        latest = self.changes[-1][0] if self.changes else 0
        return all(seen >= latest for seen in self._waiting_watchers.values())

    async def pod_log(
        self, name: str, *, namespace: str, container: str, tail_lines: int | None = None
    ) -> str:
        text = self.logs.get((namespace, name), "")
        if tail_lines is None:
            return text
        return "".join(text.splitlines(keepends=True)[-tail_lines:])

    async def follow_log(self, name: str, *, namespace: str, container: str) -> AsyncIterator[str]:
        for line in self.logs.get((namespace, name), "").splitlines(keepends=True):
            yield line

    async def exec(
        self,
        namespace: str,
        pod: str,
        container: str,
        command: Sequence[str],
        *,
        timeout: float,
    ) -> podexec.ExecResult:
        call = ExecCall(namespace, pod, container, tuple(command), timeout)
        self.exec_calls.append(call)
        refusal = self._exec_refusal(namespace, pod, container)
        if refusal is not None:
            return refusal
        answer = self.exec_results.get(call.command)
        if answer is None:
            words = " ".join(call.command)
            reason = f'exec: "{call.command[0]}": executable file not found in $PATH'
            error = f"cannot run command [{words}]: {reason} (exit code 127)"
            return podexec.ExecResult(exit_code=127, stderr=reason + "\n", error=error)
        return answer(call) if callable(answer) else answer

    def _exec_refusal(self, namespace: str, pod: str, container: str) -> podexec.ExecResult | None:
        """What the API server (a missing pod) or the node (a finished one) answers."""
        found = self.objects.get((client.Kind.POD, namespace, pod))
        if found is None:
            return podexec.ExecResult(
                exit_code=None, error=f'pods "{pod}" not found', http_status=404
            )
        if (found.get("status") or {}).get("phase") in {"Succeeded", "Failed"}:
            error = f'container "{container}" in pod "{pod}" is not running'
            return podexec.ExecResult(exit_code=None, error=error, http_status=400)
        return None

    @property
    def default_namespace(self) -> str:
        return "default"

    async def allowed(self, verb: str, resource: str, *, group: str = "", namespace: str) -> bool:
        return (verb, resource) not in self.denied

    async def whoami(self) -> str:
        return self.user

    async def close(self) -> None:
        return None


def _key(obj: Mapping[str, Any]) -> Key:
    meta = obj["metadata"]
    return client.kind_of(obj), meta.get("namespace", "") or "", meta["name"]


def _timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
