"""The console's web application: the fleet page, an object's page, its actions, live updates.

Server-rendered pages (Starlette and Jinja2, everything served from the package) with a small
script that keeps them current from one event stream per page (server-sent events fed by the
fleet's watches) and sends the buttons' requests. Every failure becomes a message on the page,
never a traceback: a refused request says which permission is missing, an object deleted while
its page is open says so, and the rest of the console keeps working.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import json
import logging
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from sse_starlette import sse
from starlette import applications, requests, responses, routing, staticfiles, templating
from starlette import exceptions as starlette_exceptions
from starlette.middleware import trustedhost

from pyvolsync import __version__
from pyvolsync.api.timestamps import parse_time
from pyvolsync.cli import describe, session, views
from pyvolsync.cli.console import (
    access,
    acting,
    browsing,
    fleet,
    history,
    inplacing,
    live,
    snapshot_pages,
)
from pyvolsync.cli.console.kinds import GROUP, KINDS, PAGE_KINDS, PLURALS
from pyvolsync.kube import client, errors

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
SNAPSHOT = "/{kind:str}/{namespace:str}/{name:str}/snapshots/{snapshot:str}"
LISTING_WAIT_SECONDS = 10.0
LOG_LINES = 40
"""The mover's last log lines an object's page shows."""


@dataclasses.dataclass
class Console:
    """What the application serves from: the cluster, the watched fleet, the sessions."""

    kube: client.Kube
    fleet: live.Fleet
    doorkeeper: access.Doorkeeper
    acting: acting.Acting
    browser: browsing.Browser
    runs: inplacing.Runs
    scope_note: str | None = None
    """Said on the fleet page when the user sees only some namespaces."""


def now() -> datetime.datetime:
    """Return the current time (UTC)."""
    return datetime.datetime.now(datetime.UTC)


def _relative(text: str | None) -> str:
    return views.relative(parse_time(text), now=now())


def _missing_as_none(function: Callable[[Any], str]) -> Callable[[Any], str]:
    """Give ``function`` None for a field the object does not have (a template's Undefined):
    an optional status field never breaks a page."""

    def given(value: Any) -> str:
        return function(None if isinstance(value, jinja2.Undefined) else value)

    return given


def make_templates() -> templating.Jinja2Templates:
    """Return the page templates with the filters they use."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters: dict[str, Callable[[Any], str]] = {
        "relative": _relative,
        "size": views.size,
        "duration": views.go_duration,
        "progress": views.progress_text,
        "seconds": lambda value: "-" if value is None else views.seconds_text(float(value)),
    }
    environment.filters.update(
        {name: _missing_as_none(function) for name, function in filters.items()}
    )
    environment.globals["version"] = __version__
    return templating.Jinja2Templates(env=environment)


TEMPLATES = make_templates()


def create(console: Console) -> access.Asgi:
    """Return the ASGI application of ``console``."""
    pages = Pages(console)
    in_place = inplacing.InPlacePages(pages, TEMPLATES, console.runs)
    snapshots = snapshot_pages.SnapshotPages(pages, TEMPLATES)
    source = "/{kind:str}/{namespace:str}/{name:str}"
    routes = [
        routing.Route("/", pages.fleet_page),
        routing.Route("/login", pages.login, methods=["GET", "POST"]),
        routing.Route("/events", pages.events),
        routing.Route("/healthz", pages.healthz),
        routing.Mount("/static", staticfiles.StaticFiles(directory=HERE / "static"), name="static"),
        routing.Route("/{kind:str}/{namespace:str}/{name:str}", pages.object_page),
        routing.Route("/{kind:str}/{namespace:str}/{name:str}/panel", pages.panel),
        routing.Route("/{kind:str}/{namespace:str}/{name:str}/snapshots", snapshots.snapshot_list),
        routing.Route(f"{SNAPSHOT}", snapshots.folder),
        routing.Route(f"{SNAPSHOT}/preview", snapshots.preview),
        routing.Route(f"{SNAPSHOT}/download", snapshots.download),
        routing.Route(f"{SNAPSHOT}/restore", snapshots.restore_page, methods=["GET", "POST"]),
        routing.Route(f"{SNAPSHOT}/in-place", in_place.plan_page, methods=["GET", "POST"]),
        routing.Route(f"{source}/in-place", in_place.state_page),
        routing.Route(f"{source}/in-place/{{action:str}}", in_place.act, methods=["POST"]),
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
            NotLoggedInError: pages.not_logged_in,
            Exception: pages.failure,
        },
    )
    if not console.doorkeeper.shared:
        # One person's console answers to its loopback names only (no DNS rebinding).
        app.add_middleware(trustedhost.TrustedHostMiddleware, allowed_hosts=list(LOCAL_HOSTS))
    return access.secured(app)


class NotLoggedInError(Exception):
    """The request has no session; the message says how to get one."""


class Pages:
    """The request handlers."""

    def __init__(self, console: Console) -> None:
        self.console = console

    async def visitor_of(self, request: requests.Request) -> access.Visitor:
        found = await self.console.doorkeeper.visitor(request)
        if found is None:
            raise NotLoggedInError(self.console.doorkeeper.login_hint)
        return found

    async def _listed(self) -> None:
        """Wait (a little) until the fleet was listed once, so a first page is not empty."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.console.fleet.ready(), LISTING_WAIT_SECONDS)

    async def _may_see(self, visitor: access.Visitor, kind: str, namespace: str) -> bool:
        """Whether the visitor may list objects of ``kind`` (a page kind) in ``namespace``."""
        if not self.console.doorkeeper.shared:
            return True  # the fleet was listed with the visitor's own credentials
        return await self.console.doorkeeper.allowed(
            visitor, "list", PLURALS[kind], group=GROUP, namespace=namespace
        )

    async def require(
        self,
        visitor: access.Visitor,
        verb: str,
        resource: str,
        namespace: str,
        *,
        group: str,
        why: str,
    ) -> None:
        """Raise 403 unless the visitor may ``verb`` the ``resource`` in ``namespace``."""
        doorkeeper = self.console.doorkeeper
        if not await doorkeeper.allowed(visitor, verb, resource, group=group, namespace=namespace):
            raise starlette_exceptions.HTTPException(
                403,
                f"not allowed: your RBAC does not let you {verb} {resource} in namespace "
                f"{namespace} ({why})",
            )

    async def healthz(self, request: requests.Request) -> responses.Response:
        """Answer ``ok`` (for probes)."""
        return responses.PlainTextResponse("ok")

    async def login(self, request: requests.Request) -> responses.Response:
        """Open a session (the launch token in the address, or a token posted from the login
        form), then show the fleet; show the form to someone arriving without one."""
        doorkeeper = self.console.doorkeeper
        if request.method == "POST":
            if not _same_origin(request):
                raise starlette_exceptions.HTTPException(403, "log in from the console's page")
            secret = str((await request.form()).get("token") or "")
        else:
            secret = request.query_params.get("token", "")
            if not secret and doorkeeper.login_form:
                return TEMPLATES.TemplateResponse(request, "login.html", {"said": None})
        try:
            session_id = await doorkeeper.login(secret)
        except access.RefusedLogin as refused:
            if doorkeeper.login_form:
                context = {"said": str(refused)}
                return TEMPLATES.TemplateResponse(request, "login.html", context, status_code=401)
            raise starlette_exceptions.HTTPException(401, str(refused)) from None
        response = responses.RedirectResponse("/", status_code=303)
        response.set_cookie(access.COOKIE, session_id, httponly=True, samesite="strict")
        return response

    async def _rows(self, visitor: access.Visitor) -> list[dict[str, Any]]:
        moment = now()
        seen = []
        for key, obj in list(self.console.fleet.objects.items()):
            if await self._may_see(visitor, PAGE_KINDS[key[0]], key[1]):
                seen.append(fleet.row(obj, now=moment))
        return fleet.ordered(seen)

    async def fleet_page(self, request: requests.Request) -> responses.Response:
        """The fleet: every source and destination, trouble first."""
        visitor = await self.visitor_of(request)
        await self._listed()
        since = self.console.fleet.number
        rows = await self._rows(visitor)
        context = {
            "visitor": visitor,
            "rows": rows,
            "counts": fleet.counts(rows),
            "scope_note": self.console.scope_note,
            "healths": [state.label for state in fleet.Health],
            "since": since,
        }
        return TEMPLATES.TemplateResponse(request, "fleet.html", context)

    async def events(self, request: requests.Request) -> responses.Response:
        """Server-sent events: each change of the fleet (or of the one object ``key``)."""
        visitor = await self.visitor_of(request)
        wanted = request.query_params.get("key")
        since = request.query_params.get("since", "")
        return sse.EventSourceResponse(
            self._changes(request, visitor, wanted, int(since) if since.isdigit() else None)
        )

    async def _still_in(self, request: requests.Request) -> bool:
        """Whether the stream's session still holds (not expired, its token not revoked)."""
        try:
            return await self.console.doorkeeper.visitor(request) is not None
        except errors.KubeError:
            return True  # the API server is away: keep the stream until it answers again

    async def _changes(
        self,
        request: requests.Request,
        visitor: access.Visitor,
        wanted: str | None,
        since: int | None,
    ) -> AsyncIterator[dict[str, str]]:
        async with self.console.fleet.changes(since=since) as queue:
            yield {"event": "ready", "data": ""}
            checked = asyncio.get_running_loop().time()
            while True:
                try:
                    change = await asyncio.wait_for(queue.get(), access.REVIEW_SECONDS)
                except TimeoutError:
                    change = None
                if asyncio.get_running_loop().time() - checked >= access.REVIEW_SECONDS:
                    if not await self._still_in(request):
                        yield {"event": "ended", "data": self.console.doorkeeper.login_hint}
                        return
                    checked = asyncio.get_running_loop().time()
                if change is None:
                    continue
                if change is live.RELOAD:
                    yield {"event": "reload", "data": ""}
                    continue
                kind = PAGE_KINDS[change.key[0]]
                key = fleet.key_of(kind, change.key[1], change.key[2])
                if (wanted and key != wanted) or not await self._may_see(
                    visitor, kind, change.key[1]
                ):
                    continue
                if change.obj is None:
                    yield {"event": "gone", "data": json.dumps({"key": key})}
                    continue
                found = fleet.row(change.obj, now=now())
                html = TEMPLATES.get_template("row.html").render(row=found)
                data = {"key": key, "rank": found["rank"], "html": html}
                yield {"event": "row", "data": json.dumps(data)}

    async def object_of(
        self, request: requests.Request, visitor: access.Visitor
    ) -> tuple[str, dict[str, Any]]:
        """Return the kind word and the object the path names; 404 when there is none, or the
        visitor may not see it (a person cannot learn what exists where they may not look)."""
        kind, namespace, name = (request.path_params[key] for key in ("kind", "namespace", "name"))
        if kind not in KINDS:
            raise starlette_exceptions.HTTPException(404, f"no page {request.url.path}")
        await self._listed()
        found = self.console.fleet.get((KINDS[kind], namespace, name))
        if found is None or not await self._may_see(visitor, kind, namespace):
            raise starlette_exceptions.HTTPException(
                404, f"{KINDS[kind]} {namespace}/{name} does not exist (any more)"
            )
        return kind, found

    async def _panel_context(
        self, kind: str, obj: Mapping[str, Any], visitor: access.Visitor
    ) -> dict[str, Any]:
        status = obj.get("status") or {}
        logs = ((status.get("latestMoverStatus") or {}).get("logs") or "").splitlines()
        return {
            "kind": kind,
            "obj": obj,
            "row": fleet.row(obj, now=now()),
            "status_rows": describe.status_rows(status, now=now()),
            "result_rows": describe.result_rows(status),
            "conditions": status.get("conditions") or [],
            **await self._events(obj, visitor),
            "log_lines": logs[-LOG_LINES:],
            "charts": history.charts(status, backup=kind == "source"),
            "history": status.get("recentSyncs") or [],
        }

    async def _events(self, obj: Mapping[str, Any], visitor: access.Visitor) -> dict[str, Any]:
        """Return the object's events, newest first, or why they cannot be shown."""
        namespace = obj["metadata"]["namespace"]
        if self.console.doorkeeper.shared and not await self.console.doorkeeper.allowed(
            visitor, "list", "events", group="events.k8s.io", namespace=namespace
        ):
            return {"events": [], "events_problem": "cannot list events: your RBAC does not "
                    f"let you list events in namespace {namespace}"}  # fmt: skip
        try:
            found = await describe.events_about(self.console.kube, obj)
        except errors.KubeError as error:
            return {"events": [], "events_problem": f"cannot list events: {api_text(error)}"}
        return {"events": list(reversed(found)), "events_problem": None}

    async def object_page(self, request: requests.Request) -> responses.Response:
        """One source or destination: settings, state, conditions, events, log, actions."""
        visitor = await self.visitor_of(request)
        kind, obj = await self.object_of(request, visitor)
        since = self.console.fleet.number
        namespace = obj["metadata"]["namespace"]
        may_act = await self.console.doorkeeper.allowed(
            visitor, "patch", PLURALS[kind], group=GROUP, namespace=namespace
        )
        context = {
            **await self._panel_context(kind, obj, visitor),
            "visitor": visitor,
            "spec_rows": describe.spec_rows(obj),
            "since": since,
            "may_act": may_act,
            "said": request.query_params.get("said"),
        }
        return TEMPLATES.TemplateResponse(request, "object.html", context)

    async def panel(self, request: requests.Request) -> responses.Response:
        """The live part of an object's page, fetched again when the object changes."""
        visitor = await self.visitor_of(request)
        kind, obj = await self.object_of(request, visitor)
        context = await self._panel_context(kind, obj, visitor)
        return TEMPLATES.TemplateResponse(request, "panel.html", context)

    async def act(self, request: requests.Request) -> responses.Response:
        """Carry out a button's action; JSON for the script, a redirect for a plain form."""
        visitor = await self.visitor_of(request)
        try:
            said = await self._act(request, visitor)
        except starlette_exceptions.HTTPException as refused:
            return _answer(request, refused.status_code, error=refused.detail)
        return _answer(request, 200, message=said)

    async def _act(self, request: requests.Request, visitor: access.Visitor) -> str:
        """Check the CSRF token, the action, the object and the visitor's RBAC; act."""
        sent = request.headers.get(access.CSRF_HEADER)
        if sent is None:
            sent = str((await request.form()).get(access.CSRF_FIELD) or "")
        if not access.csrf_matches(visitor, sent):
            raise starlette_exceptions.HTTPException(
                403, "the form is stale; reload the page and try again"
            )
        try:
            action = acting.Action(request.path_params["action"])
        except ValueError:
            raise starlette_exceptions.HTTPException(
                404, f"no action {request.path_params['action']!r}"
            ) from None
        kind, obj = await self.object_of(request, visitor)
        namespace = obj["metadata"]["namespace"]
        if not await self.console.doorkeeper.allowed(
            visitor, "patch", PLURALS[kind], group=GROUP, namespace=namespace
        ):
            raise starlette_exceptions.HTTPException(403, _not_allowed(obj, action))
        try:
            return await self.console.acting.act(obj, action, user=visitor.user)
        except acting.RefusedError as error:
            raise starlette_exceptions.HTTPException(409, str(error)) from None
        except errors.KubeError as error:
            status = error.code or 502
            raise starlette_exceptions.HTTPException(
                status, _api_message(error, action, obj)
            ) from None

    async def not_logged_in(
        self, request: requests.Request, error: Exception
    ) -> responses.Response:
        """No session: the login form (shared console) or the way to get the address."""
        if self.console.doorkeeper.login_form and request.url.path == "/":
            return responses.RedirectResponse("/login", status_code=303)
        return _problem(request, 401, str(error))

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
    return _not_allowed(obj, action) if error.code == 403 else api_text(error)


def _not_allowed(obj: Mapping[str, Any], action: acting.Action) -> str:
    meta = obj["metadata"]
    return (
        f"not allowed: your RBAC does not let you patch {obj.get('kind')} "
        f"{meta['namespace']}/{meta['name']} (needed to {action.value})"
    )


def _same_origin(request: requests.Request) -> bool:
    """Whether a form post came from the console's own page: the browser's Sec-Fetch-Site
    says so (pages send no referrer, so their Origin is "null"); without it, the Origin."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is None or urllib.parse.urlsplit(origin).netloc == request.url.netloc
