"""What every user command shares: the cluster options, finding the object, one-line errors.

The user commands talk to the cluster through ``pyvolsync.kube`` like the operator does, each in
one ``asyncio.run``. A user's mistake (a wrong name, no kubeconfig, an unreachable API server)
becomes one line saying what to do next and exit code 2, never a traceback; that is why every
command body runs through ``run``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, TypeVar

import typer

from pyvolsync import __version__
from pyvolsync.kube import client, errors
from pyvolsync.movers import registry

Result = TypeVar("Result")
JsonObject = dict[str, Any]

USER_ERROR_EXIT = 2
TOO_MANY_REQUESTS = 429
"""The API server is busy (or a new CRD's storage is starting): the request was not processed."""
BUSY_RETRIES = 5
BUSY_DELAY_SECONDS = 1.0
POLL_SECONDS = 1.0
"""How often the commands look again at what they wait for."""
DEFAULT_MOVER_IMAGE = f"ghcr.io/pyvolsync/pyvolsync-mover:{__version__}"


class UserError(Exception):
    """A mistake the user can fix; the message says how."""


class RoleOption(enum.StrEnum):
    """The ``--kind`` option's values."""

    SOURCE = "source"
    DESTINATION = "destination"


KIND_OF_ROLE = {
    RoleOption.SOURCE: client.Kind.REPLICATION_SOURCE,
    RoleOption.DESTINATION: client.Kind.REPLICATION_DESTINATION,
}

KubeconfigOption = Annotated[
    str | None,
    typer.Option("--kubeconfig", envvar="KUBECONFIG", help="Kubeconfig file (as kubectl)."),
]
ContextOption = Annotated[
    str | None, typer.Option("--context", help="Kubeconfig context to use instead of the current.")
]
NamespaceOption = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="Namespace (default: the context's namespace)."),
]
KindOption = Annotated[
    RoleOption | None,
    typer.Option("--kind", help="source or destination, when both kinds have this name."),
]


@dataclasses.dataclass(frozen=True)
class Target:
    """Which cluster and namespace a command works on."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None

    def connect(self) -> client.Kube:
        """Return the cluster; raise UserError when there is no kubeconfig to use."""
        try:
            return client.Kube(client.connect(self.kubeconfig, context=self.context))
        except errors.ConfigurationError as error:
            raise UserError(
                f"no cluster to talk to ({error}); pass --kubeconfig FILE or set KUBECONFIG"
            ) from None

    def namespace_of(self, kube: client.Kube) -> str:
        """Return the namespace given, else the kubeconfig context's."""
        return self.namespace or kube.default_namespace


def run(body: Callable[[client.Kube], Awaitable[Result]], target: Target) -> Result:
    """Run ``body`` against the cluster; turn user errors into one line and exit code 2.

    Like kubectl, a command the API server answers with 429 (busy) is tried again, a few times.
    """

    async def session() -> Result:
        kube = target.connect()
        try:
            for _ in range(BUSY_RETRIES):
                try:
                    return await body(kube)
                except errors.ApiFailureError as error:
                    if error.code != TOO_MANY_REQUESTS:
                        raise
                await asyncio.sleep(BUSY_DELAY_SECONDS)
            return await body(kube)
        finally:
            await kube.close()

    try:
        return asyncio.run(session())
    except UserError as error:
        raise fail(str(error)) from None
    except errors.KubeError as error:
        raise fail(_api_failure(error)) from None
    except KeyboardInterrupt:
        raise typer.Exit(code=130) from None


async def poll(
    probe: Callable[[], Awaitable[Result | None]],
    *,
    timeout: float,
    timed_out: Callable[[], str],
    interval: float = POLL_SECONDS,
) -> Result:
    """Call ``probe`` every ``interval`` until it returns something other than None; return
    that. After ``timeout`` seconds raise UserError saying ``timed_out()`` (the probe may raise
    its own UserError sooner, for a state that will not change)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise UserError(timed_out())
        await asyncio.sleep(interval)


def confirm(question: str, *, yes: bool, refusal: str | None = None) -> None:
    """Ask ``question`` unless ``yes``; without a terminal to ask on, raise UserError saying
    ``refusal`` (default: the question and "pass --yes")."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UserError(refusal or f"{question} there is no terminal to ask on: pass --yes")
    typer.confirm(question, abort=True)


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` to stderr and return the Exit to raise."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=USER_ERROR_EXIT)


def _api_failure(error: errors.KubeError) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if error.code == 0:
        return (
            f"cannot reach the Kubernetes API server ({text}); check the kubeconfig's context "
            "(`kubectl cluster-info`) and the network"
        )
    if error.code in (401, 403):
        return f"the API server refused the request ({text}); check your credentials and RBAC"
    return f"the API server answered {error.code}: {text}"


async def find(
    kube: client.Kube, name: str, *, namespace: str, role: RoleOption | None
) -> JsonObject:
    """Return the ReplicationSource or ReplicationDestination ``name``; UserError if none or two."""
    kinds = [KIND_OF_ROLE[role]] if role else list(KIND_OF_ROLE.values())
    found = [
        item
        for item in [await kube.get(kind, name, namespace=namespace) for kind in kinds]
        if item is not None
    ]
    if not found:
        what = (
            f"Replication{'Source' if role is RoleOption.SOURCE else 'Destination'}"
            if role
            else ("ReplicationSource or ReplicationDestination")
        )
        raise UserError(
            f"no {what} named {name!r} in namespace {namespace!r}; "
            "pass -n NAMESPACE, or list them all with `pyvolsync status -A`"
        )
    if len(found) > 1:
        raise UserError(
            f"both a ReplicationSource and a ReplicationDestination are named {name!r} in "
            f"namespace {namespace!r}; pass --kind source or --kind destination"
        )
    return found[0]


def kind_of(obj: Mapping[str, Any]) -> client.Kind:
    """Return the Kind of a ReplicationSource or ReplicationDestination dict."""
    if obj.get("kind") == "ReplicationSource":
        return client.Kind.REPLICATION_SOURCE
    return client.Kind.REPLICATION_DESTINATION


def engine_of(obj: Mapping[str, Any]) -> str:
    """Return the engine an object's spec names (its section: ``restic`` or ``kopia``)."""
    spec = obj.get("spec") or {}
    found = [name for name in registry.names() if spec.get(name) is not None]
    return found[0] if found else registry.names()[0]


def is_source(obj: Mapping[str, Any]) -> bool:
    """Return True for a ReplicationSource."""
    return obj.get("kind") == "ReplicationSource"
