"""The console's web application: the fleet page, an object's page, its actions, live updates.

Server-rendered pages (Starlette and Jinja2, everything served from the package) with a small
script that keeps them current from one event stream per page (server-sent events fed by the
fleet's watches) and sends the buttons' requests. Every failure becomes a message on the page,
never a traceback: a refused request says which permission is missing, an object deleted while
its page is open says so, and the rest of the console keeps working.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import logging
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import jinja2
from sse_starlette import sse
from starlette import applications, requests, responses, routing, staticfiles, templating
from starlette import exceptions as starlette_exceptions
from starlette.middleware import trustedhost

from pyvolsync import __version__
from pyvolsync.api.timestamps import parse_time
from pyvolsync.cli import browse, describe, session, views
from pyvolsync.cli.console import access, acting, browsing, fleet, history, live
from pyvolsync.kube import client, errors

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
KINDS = {"source": "ReplicationSource", "destination": "ReplicationDestination"}
PLURALS = {"source": "replicationsources", "destination": "replicationdestinations"}
GROUP = "volsync.backube"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
SNAPSHOT = "/{kind:str}/{namespace:str}/{name:str}/snapshots/{snapshot:str}"
LOG_LINES = 40
"""The mover's last log lines an object's page shows."""


@dataclasses.dataclass
class Console:
    """What the application serves from: the cluster, the watched fleet, the sessions."""

    kube: client.Kube
    fleet: live.Fleet
    sessions: access.Sessions
    acting: acting.Acting
    browser: browsing.Browser
    scope_note: str | None = None
    """Said on the fleet page when the user sees only some namespaces."""


def now() -> datetime.datetime:
    """Return the current time (UTC)."""
    return datetime.datetime.now(datetime.UTC)


def _relative(text: str | None) -> str:
    return views.relative(parse_time(text), now=now())


def make_templates() -> templating.Jinja2Templates:
    """Return the page templates with the filters they use."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
    )
    environment.filters.update(
        relative=_relative,
        size=views.size,
        duration=views.go_duration,
        progress=views.progress_text,
        seconds=lambda value: "-" if value is None else views.seconds_text(float(value)),
    )
    environment.globals["version"] = __version__
    return templating.Jinja2Templates(env=environment)


TEMPLATES = make_templates()


def create(console: Console) -> access.Asgi:
    """Return the ASGI application of ``console``."""
    pages = Pages(console)
    routes = [
        routing.Route("/", pages.fleet_page),
        routing.Route("/login", pages.login),
        routing.Route("/events", pages.events),
        routing.Route("/healthz", pages.healthz),
        routing.Mount("/static", staticfiles.StaticFiles(directory=HERE / "static"), name="static"),
        routing.Route("/{kind:str}/{namespace:str}/{name:str}", pages.object_page),
        routing.Route("/{kind:str}/{namespace:str}/{name:str}/panel", pages.panel),
        routing.Route("/{kind:str}/{namespace:str}/{name:str}/snapshots", pages.snapshot_list),
        routing.Route(f"{SNAPSHOT}", pages.folder),
        routing.Route(f"{SNAPSHOT}/preview", pages.preview),
        routing.Route(f"{SNAPSHOT}/download", pages.download),
        routing.Route(
            "/{kind:str}/{namespace:str}/{name:str}/{action:str}", pages.act, methods=["POST"]
        ),
    ]
    app = applications.Starlette(
        routes=routes,
        exception_handlers={
            starlette_exceptions.HTTPException: pages.http_failure,
            errors.KubeError: pages.api_failure,
            session.UserError: pages.user_failure,
            Exception: pages.failure,
        },
    )
    app.add_middleware(trustedhost.TrustedHostMiddleware, allowed_hosts=list(LOCAL_HOSTS))
    return access.secured(app)


class Pages:
    """The request handlers."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def _visitor(self, request: requests.Request) -> access.Visitor:
        found = self.console.sessions.visitor(request)
        if found is None:
            raise starlette_exceptions.HTTPException(
                401, "open the address `pyvolsync ui` printed (it carries the login token)"
            )
        return found

    async def healthz(self, request: requests.Request) -> responses.Response:
        """Answer ``ok`` (for probes)."""
        return responses.PlainTextResponse("ok")

    async def login(self, request: requests.Request) -> responses.Response:
        """Open a session for the launch token, then show the fleet."""
        session_id = self.console.sessions.open(request.query_params.get("token", ""))
        if session_id is None:
            raise starlette_exceptions.HTTPException(
                401, "this login link is not valid; use the one `pyvolsync ui` printed last"
            )
        response = responses.RedirectResponse("/", status_code=303)
        response.set_cookie(access.COOKIE, session_id, httponly=True, samesite="strict")
        return response

    def _rows(self) -> list[dict[str, Any]]:
        moment = now()
        objects = list(self.console.fleet.objects.values())
        return fleet.ordered(fleet.row(obj, now=moment) for obj in objects)

    async def fleet_page(self, request: requests.Request) -> responses.Response:
        """The fleet: every source and destination, trouble first."""
        visitor = self._visitor(request)
        rows = self._rows()
        context = {
            "visitor": visitor,
            "rows": rows,
            "counts": fleet.counts(rows),
            "scope_note": self.console.scope_note,
            "healths": [state.label for state in fleet.Health],
        }
        return TEMPLATES.TemplateResponse(request, "fleet.html", context)

    async def events(self, request: requests.Request) -> responses.Response:
        """Server-sent events: each change of the fleet (or of the one object ``key``)."""
        self._visitor(request)
        wanted = request.query_params.get("key")
        return sse.EventSourceResponse(self._changes(wanted))

    async def _changes(self, wanted: str | None) -> AsyncIterator[dict[str, str]]:
        async with self.console.fleet.changes() as queue:
            yield {"event": "ready", "data": ""}
            while True:
                change = await queue.get()
                if change is live.RELOAD:
                    yield {"event": "reload", "data": ""}
                    continue
                kind = "source" if change.key[0] == KINDS["source"] else "destination"
                key = fleet.key_of(kind, change.key[1], change.key[2])
                if wanted and key != wanted:
                    continue
                if change.obj is None:
                    yield {"event": "gone", "data": json.dumps({"key": key})}
                    continue
                found = fleet.row(change.obj, now=now())
                html = TEMPLATES.get_template("row.html").render(row=found)
                data = {"key": key, "rank": found["rank"], "html": html}
                yield {"event": "row", "data": json.dumps(data)}

    def _object(self, request: requests.Request) -> tuple[str, dict[str, Any]]:
        """Return the kind word and the object the path names; 404 when there is none."""
        kind, namespace, name = (request.path_params[key] for key in ("kind", "namespace", "name"))
        if kind not in KINDS:
            raise starlette_exceptions.HTTPException(404, f"no page {request.url.path}")
        found = self.console.fleet.get((KINDS[kind], namespace, name))
        if found is None:
            raise starlette_exceptions.HTTPException(
                404, f"{KINDS[kind]} {namespace}/{name} does not exist (any more)"
            )
        return kind, found

    async def _panel_context(self, kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        status = obj.get("status") or {}
        logs = ((status.get("latestMoverStatus") or {}).get("logs") or "").splitlines()
        return {
            "kind": kind,
            "obj": obj,
            "row": fleet.row(obj, now=now()),
            "status_rows": describe.status_rows(status, now=now()),
            "result_rows": describe.result_rows(status),
            "conditions": status.get("conditions") or [],
            **await self._events(obj),
            "log_lines": logs[-LOG_LINES:],
            "charts": history.charts(status, backup=kind == "source"),
            "history": status.get("recentSyncs") or [],
        }

    async def _events(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Return the object's events, newest first, or why they cannot be shown."""
        try:
            found = await describe.events_about(self.console.kube, obj)
        except errors.KubeError as error:
            return {"events": [], "events_problem": f"cannot list events: {api_text(error)}"}
        return {"events": list(reversed(found)), "events_problem": None}

    async def object_page(self, request: requests.Request) -> responses.Response:
        """One source or destination: settings, state, conditions, events, log, actions."""
        visitor = self._visitor(request)
        kind, obj = self._object(request)
        namespace = obj["metadata"]["namespace"]
        may_act = await self.console.kube.allowed(
            "patch", PLURALS[kind], group=GROUP, namespace=namespace
        )
        context = {
            **await self._panel_context(kind, obj),
            "visitor": visitor,
            "spec_rows": describe.spec_rows(obj),
            "may_act": may_act,
            "said": request.query_params.get("said"),
        }
        return TEMPLATES.TemplateResponse(request, "object.html", context)

    async def panel(self, request: requests.Request) -> responses.Response:
        """The live part of an object's page, fetched again when the object changes."""
        self._visitor(request)
        kind, obj = self._object(request)
        context = await self._panel_context(kind, obj)
        return TEMPLATES.TemplateResponse(request, "panel.html", context)

    async def snapshot_list(self, request: requests.Request) -> responses.Response:
        """The object's snapshots, newest first, each with a link to browse it."""
        visitor = self._visitor(request)
        kind, obj = self._object(request)
        entries = await self.console.browser.catalog(obj)
        context = {"visitor": visitor, "kind": kind, "obj": obj, "entries": entries}
        return TEMPLATES.TemplateResponse(request, "snapshots.html", context)

    def _where(self, request: requests.Request) -> tuple[str, str]:
        """Return the snapshot and the path (``/`` unless ``?path=`` says otherwise)."""
        path = request.query_params.get("path") or "/"
        if not path.startswith("/"):
            raise starlette_exceptions.HTTPException(400, f"path {path!r} must start with /")
        return request.path_params["snapshot"], path

    async def folder(self, request: requests.Request) -> responses.Response:
        """One folder of a snapshot: its entries, each to open, preview or download."""
        visitor = self._visitor(request)
        kind, obj = self._object(request)
        snapshot, path = self._where(request)
        entries, read = await self.console.browser.folder(obj, snapshot, path)
        context = {
            "visitor": visitor, "kind": kind, "obj": obj, "snapshot": read or snapshot,
            "path": path, "crumbs": _crumbs(path), "entries": sorted(entries, key=_listing_order),
            "shown": browse.display_name,
        }  # fmt: skip
        return TEMPLATES.TemplateResponse(request, "folder.html", context)

    async def preview(self, request: requests.Request) -> responses.Response:
        """The first bytes of a file, as text when it is text."""
        visitor = self._visitor(request)
        kind, obj = self._object(request)
        snapshot, path = self._where(request)
        shown = await self.console.browser.preview(obj, snapshot, path)
        context = {
            "visitor": visitor, "kind": kind, "obj": obj, "snapshot": snapshot, "path": path,
            "crumbs": _crumbs(path), "preview": shown, "shown": browse.display_name,
            "limit": views.size(browsing.PREVIEW_BYTES),
        }  # fmt: skip
        return TEMPLATES.TemplateResponse(request, "preview.html", context)

    async def download(self, request: requests.Request) -> responses.Response:
        """A file's bytes, or a folder as a tar archive, streamed as the Job reads them."""
        self._visitor(request)
        _, obj = self._object(request)
        snapshot, path = self._where(request)
        folder = request.query_params.get("folder") == "1"
        stack = contextlib.AsyncExitStack()
        chunks = await stack.enter_async_context(
            self.console.browser.stream(obj, snapshot, path, folder=folder)
        )

        async def body() -> AsyncIterator[bytes]:
            async with stack:
                async for chunk in chunks:
                    yield chunk

        name = (path.rstrip("/").rsplit("/", 1)[-1] or obj["metadata"]["name"]) + (
            ".tar" if folder else ""
        )
        disposition = f"attachment; filename*=UTF-8''{urllib.parse.quote(name)}"
        return responses.StreamingResponse(
            body(),
            media_type="application/x-tar" if folder else "application/octet-stream",
            headers={"content-disposition": disposition},
        )

    async def act(self, request: requests.Request) -> responses.Response:
        """Carry out a button's action; JSON for the script, a redirect for a plain form."""
        visitor = self._visitor(request)
        sent = request.headers.get(access.CSRF_HEADER)
        if sent is None:
            sent = str((await request.form()).get(access.CSRF_FIELD) or "")
        if not access.Sessions.csrf_matches(visitor, sent):
            return _answer(request, 403, error="the form is stale; reload the page and try again")
        try:
            action = acting.Action(request.path_params["action"])
        except ValueError:
            return _answer(request, 404, error=f"no action {request.path_params['action']!r}")
        try:
            _, obj = self._object(request)
        except starlette_exceptions.HTTPException as error:
            return _answer(request, error.status_code, error=error.detail)
        try:
            said = await self.console.acting.act(obj, action, user=visitor.user)
        except acting.RefusedError as error:
            return _answer(request, 409, error=str(error))
        except errors.KubeError as error:
            return _answer(request, error.code or 502, error=_api_message(error, action, obj))
        return _answer(request, 200, message=said)

    async def http_failure(self, request: requests.Request, error: Exception) -> responses.Response:
        """A page that cannot be shown: say why, with a way back."""
        assert isinstance(error, starlette_exceptions.HTTPException)
        return _problem(request, error.status_code, str(error.detail))

    async def api_failure(self, request: requests.Request, error: Exception) -> responses.Response:
        """The API server refused or could not be reached while building a page."""
        assert isinstance(error, errors.KubeError)
        return _problem(request, 502 if error.code == 0 else error.code, api_text(error))

    async def user_failure(self, request: requests.Request, error: Exception) -> responses.Response:
        """A short Job failed (no such path, repository unreachable): the mover's words."""
        return _problem(request, 502, str(error))

    async def failure(self, request: requests.Request, error: Exception) -> responses.Response:
        """Anything else: logged with its traceback for the operator, one line for the page."""
        logger.error("the console failed on %s", request.url.path, exc_info=error)
        return _problem(request, 500, f"the console failed ({type(error).__name__}); see its log")


def _answer(request: requests.Request, status: int, **said: Any) -> responses.Response:
    if request.headers.get(access.CSRF_HEADER) is not None:
        return responses.JSONResponse(said, status_code=status)
    back = request.url.path.rsplit("/", 1)[0]
    text = said.get("message") or said.get("error") or ""
    return responses.RedirectResponse(
        f"{back}?{urllib.parse.urlencode({'said': text})}", status_code=303
    )


def _problem(request: requests.Request, status: int, message: str) -> responses.Response:
    if "text/html" not in request.headers.get("accept", ""):
        return responses.JSONResponse({"error": message}, status_code=status)
    context = {"status": status, "message": message}
    return TEMPLATES.TemplateResponse(request, "problem.html", context, status_code=status)


def api_text(error: errors.KubeError) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if error.code == 0:
        return f"cannot reach the Kubernetes API server ({text})"
    if error.code in (401, 403):
        return f"the API server refused: {text}; your credentials or RBAC do not allow it"
    return f"the API server answered {error.code}: {text}"


def _api_message(error: errors.KubeError, action: acting.Action, obj: Mapping[str, Any]) -> str:
    meta = obj["metadata"]
    if error.code == 403:
        return (
            f"not allowed: your RBAC does not let you patch {obj.get('kind')} "
            f"{meta['namespace']}/{meta['name']} (needed to {action.value})"
        )
    return api_text(error)


def _crumbs(path: str) -> list[tuple[str, str]]:
    """Return (name, path) of each folder on the way to ``path``, the root first."""
    parts = [part for part in path.split("/") if part]
    return [("/", "/")] + [
        (part, "/" + "/".join(parts[: index + 1])) for index, part in enumerate(parts)
    ]


def _listing_order(entry: Any) -> tuple[bool, str]:
    """Folders first, then by name."""
    return (entry.type != "dir", entry.path)
