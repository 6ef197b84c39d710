"""Reading and writing cluster objects as plain JSON-like dicts, through lightkube.

The planners build objects as dicts (the exact shape that goes over the wire, easy to test and
to compare); this module is where they meet the API. Objects are created, never updated in
place (a Job's spec is fixed at creation); status goes through the status subresource with a
merge patch, one per reconcile.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import enum
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import httpx2
import lightkube
from lightkube import codecs, generic_resource
from lightkube.core import exceptions as lightkube_exceptions
from lightkube.core import resource as lightkube_resource
from lightkube.resources import (
    apps_v1,
    authentication_v1,
    authorization_v1,
    batch_v1,
    coordination_v1,
    core_v1,
    rbac_authorization_v1,
    storage_v1,
)
from lightkube.types import CascadeType, PatchType

from pyvolsync import __version__
from pyvolsync.api import resources
from pyvolsync.kube import errors, podexec

logger = logging.getLogger(__name__)

JsonObject = dict[str, Any]
JsonObjects = list[JsonObject]
FIELD_MANAGER = "pyvolsync"
USER_AGENT = f"pyvolsync-operator/{__version__}"
REPORTING_CONTROLLER = "volsync-controller"
NOTE_LIMIT = 1024
WATCH_SERVER_TIMEOUT_SECONDS = 300
"""The API server closes a watch after this long; lightkube opens the next one where it ended."""

VolumeSnapshot = generic_resource.create_namespaced_resource(
    "snapshot.storage.k8s.io", "v1", "VolumeSnapshot", "volumesnapshots"
)
VolumeSnapshotClass = generic_resource.create_global_resource(
    "snapshot.storage.k8s.io", "v1", "VolumeSnapshotClass", "volumesnapshotclasses"
)
ReplicationSource = generic_resource.create_namespaced_resource(
    resources.GROUP, resources.VERSION, resources.SOURCE_KIND, resources.SOURCE_PLURAL
)
ReplicationDestination = generic_resource.create_namespaced_resource(
    resources.GROUP, resources.VERSION, resources.DESTINATION_KIND, resources.DESTINATION_PLURAL
)
KopiaMaintenance = generic_resource.create_namespaced_resource(
    resources.GROUP, resources.VERSION, resources.MAINTENANCE_KIND, resources.MAINTENANCE_PLURAL
)
Event = generic_resource.create_namespaced_resource("events.k8s.io", "v1", "Event", "events")
"""Generic rather than lightkube's model, which refuses events without an eventTime."""
VolumePopulator = generic_resource.create_global_resource(
    "populator.storage.k8s.io", "v1beta1", "VolumePopulator", "volumepopulators"
)


class Kind(enum.Enum):
    """The kinds the operator reads or writes."""

    JOB = batch_v1.Job
    POD = core_v1.Pod
    CLAIM = core_v1.PersistentVolumeClaim
    VOLUME = core_v1.PersistentVolume
    SECRET = core_v1.Secret
    CONFIG_MAP = core_v1.ConfigMap
    SERVICE_ACCOUNT = core_v1.ServiceAccount
    NAMESPACE = core_v1.Namespace
    NODE = core_v1.Node
    ROLE = rbac_authorization_v1.Role
    ROLE_BINDING = rbac_authorization_v1.RoleBinding
    STORAGE_CLASS = storage_v1.StorageClass
    LEASE = coordination_v1.Lease
    DEPLOYMENT = apps_v1.Deployment
    STATEFUL_SET = apps_v1.StatefulSet
    REPLICA_SET = apps_v1.ReplicaSet
    EVENT = Event
    VOLUME_SNAPSHOT = VolumeSnapshot
    VOLUME_SNAPSHOT_CLASS = VolumeSnapshotClass
    REPLICATION_SOURCE = ReplicationSource
    REPLICATION_DESTINATION = ReplicationDestination
    KOPIA_MAINTENANCE = KopiaMaintenance
    VOLUME_POPULATOR = VolumePopulator


def kind_of(obj: Mapping[str, Any]) -> Kind:
    """Return the Kind of a plain object from its apiVersion and kind."""
    return Kind(type(codecs.from_dict(dict(obj))))


def _everywhere(kind: Kind) -> str | None:
    """The namespace argument that means "all namespaces" (None for a cluster-scoped kind)."""
    namespaced = issubclass(kind.value, lightkube_resource.NamespacedResource)
    return lightkube.ALL_NS if namespaced else None


def _to_dict(obj: Any) -> JsonObject:
    result: JsonObject = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return result


def _translate(error: Exception) -> errors.KubeError:
    """Return our error for a lightkube or HTTP error (a 404 for an API the server lacks)."""
    if isinstance(error, lightkube_exceptions.ApiError):
        status = error.status
        return errors.from_status(int(status.code or 0), str(status.message or error))
    if isinstance(error, httpx2.HTTPStatusError):
        return errors.from_status(error.response.status_code, str(error))
    return errors.ApiFailureError(str(error))


API_ERRORS = (lightkube_exceptions.ApiError, httpx2.HTTPError)


def connect(kubeconfig: str | None = None, *, context: str | None = None) -> lightkube.AsyncClient:
    """Return an API client from ``kubeconfig``, else $KUBECONFIG / ~/.kube/config / in-cluster.

    ``context`` picks a context of the kubeconfig instead of its current one. A missing or
    unusable kubeconfig raises ``errors.ConfigurationError``.
    """
    try:
        if not kubeconfig and not context:
            return _identified(
                lightkube.AsyncClient(field_manager=FIELD_MANAGER, timeout=httpx2.Timeout(30.0))
            )
        whole = (
            lightkube.KubeConfig.from_file(kubeconfig)
            if kubeconfig
            else lightkube.KubeConfig.from_env()
        )
        config = whole.get(context_name=context) if context else whole
        return _identified(
            lightkube.AsyncClient(
                config=config, field_manager=FIELD_MANAGER, timeout=httpx2.Timeout(30.0)
            )
        )
    except lightkube_exceptions.ConfigError as error:
        raise errors.ConfigurationError(str(error)) from None


def _identified(client: lightkube.AsyncClient) -> lightkube.AsyncClient:
    """Name the operator in every request's User-Agent, so audit logs and API server metrics
    tell its requests apart. lightkube has no option for it: set it on its HTTP client."""
    http_client = getattr(getattr(client, "_client", None), "_client", None)
    headers = getattr(http_client, "headers", None)
    if headers is not None:
        headers["User-Agent"] = USER_AGENT
    return client


@dataclasses.dataclass(frozen=True)
class Identity:
    """A user as the API server knows them: name and groups."""

    user: str
    groups: tuple[str, ...] = ()


class Kube:
    """The cluster, seen as dicts. One instance per operator process."""

    def __init__(
        self,
        client: lightkube.AsyncClient,
        *,
        instance: str = "pyvolsync",
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self.client = client
        self.instance = instance
        self.clock = clock
        self._series: collections.OrderedDict[EventKey, _Series] = collections.OrderedDict()
        self._exec_endpoint: podexec.Endpoint | None = None

    async def get(
        self, kind: Kind, name: str, *, namespace: str | None = None
    ) -> JsonObject | None:
        """Return the object, or None when it does not exist."""
        try:
            return _to_dict(await self.client.get(kind.value, name, namespace=namespace))
        except API_ERRORS as error:
            translated = _translate(error)
            if isinstance(translated, errors.NotFoundError):
                return None
            raise translated from None

    async def list(
        self,
        kind: Kind,
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> list[JsonObject]:
        """Return the objects of ``kind`` (in ``namespace``, or all) matching ``labels``."""
        selector: dict[str, Any] | None = dict(labels) if labels else None
        try:
            where = namespace or _everywhere(kind)
            found = self.client.list(kind.value, namespace=where, labels=selector)
            return [_to_dict(item) async for item in found]
        except API_ERRORS as error:
            raise _translate(error) from None

    async def list_at(
        self,
        kind: Kind,
        *,
        labels: Mapping[str, str] | None = None,
        namespace: str | None = None,
    ) -> tuple[JsonObjects, str | None]:
        """Return every object of ``kind`` (in ``namespace``, or all) and the list's
        resourceVersion."""
        selector: dict[str, Any] | None = dict(labels) if labels else None
        try:
            where = namespace or _everywhere(kind)
            found = self.client.list(kind.value, namespace=where, labels=selector)
            items = [_to_dict(item) async for item in found]
        except API_ERRORS as error:
            raise _translate(error) from None
        try:
            version: str | None = found.resourceVersion
        except lightkube.NotReadyError:
            version = None
        return items, version

    async def watch(
        self,
        kind: Kind,
        *,
        resource_version: str | None,
        labels: Mapping[str, str] | None = None,
        namespace: str | None = None,
    ) -> AsyncIterator[tuple[str, JsonObject]]:
        """Yield (event type, object) of ``namespace`` (or all) from ``resource_version`` on,
        reconnecting as needed; a watch the server can no longer continue (410 Gone) raises,
        to be listed again."""
        selector: dict[str, Any] | None = dict(labels) if labels else None
        try:
            async for event_type, item in self.client.watch(
                kind.value,
                namespace=namespace or _everywhere(kind),
                labels=selector,
                resource_version=resource_version,
                server_timeout=WATCH_SERVER_TIMEOUT_SECONDS,
            ):
                yield event_type, _to_dict(item)
        except API_ERRORS as error:
            raise _translate(error) from None

    async def create(self, obj: Mapping[str, Any]) -> JsonObject:
        """Create ``obj``; when it exists already, return the existing one unchanged."""
        model = codecs.from_dict(dict(obj))
        try:
            return _to_dict(await self.client.create(model, field_manager=FIELD_MANAGER))
        except API_ERRORS as error:
            translated = _translate(error)
            if not isinstance(translated, errors.ConflictError):
                raise translated from None
        existing = await self.get(
            Kind(type(model)), obj["metadata"]["name"], namespace=obj["metadata"].get("namespace")
        )
        if existing is None:
            raise errors.ConflictError(f"{obj['kind']} {obj['metadata']['name']} is being deleted")
        return existing

    async def allowed(self, verb: str, resource: str, *, group: str = "", namespace: str) -> bool:
        """Return True when the client's own user may ``verb`` the ``resource`` in ``namespace``
        (a SelfSubjectAccessReview, so a command can refuse before it changes anything)."""
        attributes = {"verb": verb, "resource": resource, "group": group, "namespace": namespace}
        review = authorization_v1.SelfSubjectAccessReview.from_dict(
            {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
             "spec": {"resourceAttributes": attributes}}
        )  # fmt: skip
        return bool((await self._review(review)).get("allowed"))

    async def _review(self, review: Any) -> JsonObject:
        """Create a review (access, token, self); return the status the API server answered."""
        try:
            answered = _to_dict(await self.client.create(review))
        except API_ERRORS as error:
            raise _translate(error) from None
        return dict(answered.get("status") or {})

    async def review_token(self, token: str) -> Identity | None:
        """Return who ``token`` belongs to (a TokenReview), or None when it is not valid (wrong,
        expired, revoked)."""
        review = authentication_v1.TokenReview.from_dict(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
             "spec": {"token": token}}
        )  # fmt: skip
        status = await self._review(review)
        user = status.get("user") or {}
        if not status.get("authenticated") or not user.get("username"):
            return None
        return Identity(str(user["username"]), tuple(user.get("groups") or ()))

    async def subject_allowed(
        self, identity: Identity, verb: str, resource: str, *, group: str = "", namespace: str
    ) -> bool:
        """Return True when ``identity`` may ``verb`` the ``resource`` in ``namespace`` (a
        SubjectAccessReview: the console asks on behalf of a person it logged in)."""
        attributes = {"verb": verb, "resource": resource, "group": group, "namespace": namespace}
        review = authorization_v1.SubjectAccessReview.from_dict(
            {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
             "spec": {"user": identity.user, "groups": list(identity.groups),
                      "resourceAttributes": attributes}}
        )  # fmt: skip
        return bool((await self._review(review)).get("allowed"))

    async def whoami(self) -> str:
        """Return the user name the API server knows the client as (a SelfSubjectReview)."""
        review = authentication_v1.SelfSubjectReview.from_dict(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        )
        user = (await self._review(review)).get("userInfo") or {}
        return str(user.get("username") or "unknown user")

    async def replace(self, obj: Mapping[str, Any]) -> JsonObject:
        """Replace the object with ``obj``, which carries the resourceVersion it was read at."""
        try:
            return _to_dict(
                await self.client.replace(codecs.from_dict(dict(obj)), field_manager=FIELD_MANAGER)
            )
        except API_ERRORS as error:
            raise _translate(error) from None

    async def delete(
        self, kind: Kind, name: str, *, namespace: str | None = None, foreground: bool = False
    ) -> None:
        """Delete the object and, in the background, what it owns; absent is fine."""
        cascade = CascadeType.FOREGROUND if foreground else CascadeType.BACKGROUND
        try:
            await self.client.delete(kind.value, name, namespace=namespace, cascade=cascade)
        except API_ERRORS as error:
            translated = _translate(error)
            if not isinstance(translated, errors.NotFoundError):
                raise translated from None

    async def patch(
        self,
        kind: Kind,
        name: str,
        patch: Mapping[str, Any],
        *,
        namespace: str | None = None,
        status: bool = False,
    ) -> JsonObject:
        """Apply a JSON merge patch to the object (or to its status subresource)."""
        resource: Any = kind.value.Status if status else kind.value
        try:
            patched = await self.client.patch(
                resource,
                name,
                dict(patch),
                namespace=namespace,
                patch_type=PatchType.MERGE,
                field_manager=FIELD_MANAGER,
            )
        except API_ERRORS as error:
            raise _translate(error) from None
        return _to_dict(patched)

    async def pod_log(
        self, name: str, *, namespace: str, container: str, tail_lines: int | None = None
    ) -> str:
        """Return a container's log (its last lines), or "" when it cannot be read."""
        try:
            lines = [
                line
                async for line in self.client.log(
                    name, namespace=namespace, container=container, tail_lines=tail_lines
                )
            ]
        except API_ERRORS as error:
            logger.info("cannot read the log of pod %s/%s: %s", namespace, name, error)
            return ""
        return "".join(lines)

    async def exec(
        self,
        namespace: str,
        pod: str,
        container: str,
        command: Sequence[str],
        *,
        timeout: float,
    ) -> podexec.ExecResult:
        """Run ``command`` in a running container (``pods/exec``) for at most ``timeout``
        seconds and return how it went; never raises for the command, the pod or the connection
        (see ``podexec``: exit code, output tails, timed_out, the refusal's HTTP status)."""
        try:
            if self._exec_endpoint is None:
                self._exec_endpoint = podexec.Endpoint.of(self.client, user_agent=USER_AGENT)
        except (lightkube_exceptions.ConfigError, OSError) as error:
            return podexec.ExecResult(exit_code=None, error=f"cannot set up exec: {error}")
        return await podexec.run(
            self._exec_endpoint, namespace, pod, container, command, timeout=timeout
        )

    @property
    def default_namespace(self) -> str:
        """Return the namespace of the kubeconfig's context (``default`` when it names none)."""
        return str(self.client.namespace or "default")

    async def follow_log(self, name: str, *, namespace: str, container: str) -> AsyncIterator[str]:
        """Yield a container's log lines as they are written, until the container ends."""
        try:
            async for line in self.client.log(
                name, namespace=namespace, container=container, follow=True
            ):
                yield line
        except API_ERRORS as error:
            raise _translate(error) from None

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.close()

    async def event(
        self,
        regarding: Mapping[str, Any],
        *,
        type_: str,
        reason: str,
        action: str,
        note: str,
        related: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an event about ``regarding``; failing to record one is logged, not raised.

        The same event again within ``SERIES_WINDOW`` becomes a series on the first one (its
        ``series.count`` and ``lastObservedTime`` move on) instead of another Event object, as
        client-go's recorder does, so a loop of identical events cannot flood etcd.
        """
        key = _event_key(regarding, type_=type_, reason=reason, action=action, note=note)
        now = self.clock()
        try:
            if await self._continue_series(key, now):
                return
            event = _new_event(
                regarding, type_=type_, reason=reason, action=action, note=note, related=related
            )
            event["reportingInstance"] = self.instance
            event["eventTime"] = _micro_time(now)
            created = await self.create(event)
            self._series[key] = _Series(created["metadata"]["name"], 1, now)
            _trim(self._series)
        except errors.KubeError as error:
            logger.warning("cannot record event %s for %s: %s", reason, key[1], error)

    async def _continue_series(self, key: EventKey, now: datetime.datetime) -> bool:
        """Count the event on its series if one is recent; False when a new Event is needed."""
        series = self._series.get(key)
        if series is None or now - series.first_seen > SERIES_WINDOW:
            return False
        count = series.count + 1
        patch = {"series": {"count": count, "lastObservedTime": _micro_time(now)}}
        try:
            await self.patch(Kind.EVENT, series.name, patch, namespace=key[0])
        except errors.NotFoundError:
            return False
        self._series[key] = dataclasses.replace(series, count=count)
        self._series.move_to_end(key)
        return True


EventKey = tuple[str, str, str, str, str, str]
SERIES_WINDOW = datetime.timedelta(minutes=6)
"""How long identical events count on one series (client-go's window)."""
SERIES_REMEMBERED = 4096


@dataclasses.dataclass(frozen=True)
class _Series:
    name: str
    count: int
    first_seen: datetime.datetime


def _event_key(
    regarding: Mapping[str, Any], *, type_: str, reason: str, action: str, note: str
) -> EventKey:
    meta = regarding["metadata"]
    identity = str(meta.get("uid") or meta["name"])
    return (meta["namespace"], identity, type_, reason, action, note[:NOTE_LIMIT])


def _trim(series: collections.OrderedDict[EventKey, _Series]) -> None:
    while len(series) > SERIES_REMEMBERED:
        series.popitem(last=False)


def _micro_time(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _new_event(
    regarding: Mapping[str, Any],
    *,
    type_: str,
    reason: str,
    action: str,
    note: str,
    related: Mapping[str, Any] | None,
) -> JsonObject:
    meta = regarding["metadata"]
    event: JsonObject = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta['name']}.{uuid.uuid4().hex[:16]}",
            "namespace": meta["namespace"],
        },
        "reportingController": REPORTING_CONTROLLER,
        "action": action,
        "reason": reason,
        "type": type_,
        "note": note[:NOTE_LIMIT],
        "regarding": _reference(regarding),
    }
    if related is not None:
        event["related"] = _reference(related)
    return event


def _reference(obj: Mapping[str, Any]) -> JsonObject:
    meta = obj["metadata"]
    return {
        "apiVersion": obj.get("apiVersion", ""),
        "kind": obj.get("kind", ""),
        "name": meta["name"],
        "namespace": meta.get("namespace", ""),
        "uid": meta.get("uid", ""),
    }
