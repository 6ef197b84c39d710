"""The console's in-place restore: chosen files and folders of a snapshot put back into the app's
own volume, and the undo.

The same steps as ``pyvolsync restore --in-place`` and ``pyvolsync undo`` (``cli.inplace``):
everything is checked and the plan shown in full (the paths, the workloads stopped meanwhile,
the safety copy) before anything changes; the plan confirmed is the plan carried out (a changed
plan is shown again instead). The restore goes on in the console after the page that started it
is closed, one at a time per volume, and its page follows it. Each step is written to the PVC's
journal, so a console stopped midway leaves a restore its page (or the CLI) finishes or undoes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import hashlib
import io
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import rich.console
from starlette import exceptions as starlette_exceptions
from starlette import requests, responses, templating

from pyvolsync.cli import inplace, session, snapshots, views
from pyvolsync.cli.console import access
from pyvolsync.kube import client, errors
from pyvolsync.planning import inplace as planning
from pyvolsync.planning.inplace import Journal, Phase

if TYPE_CHECKING:
    from pyvolsync.cli.console import app

logger = logging.getLogger(__name__)

Work = Callable[[inplace.InPlace], Awaitable[Journal]]
OUTPUT_WIDTH = 160


@dataclasses.dataclass
class Run:
    """One restore or undo carried out by the console: who asked, what it said, how it ended."""

    what: str
    user: str
    started: datetime.datetime
    output: io.StringIO = dataclasses.field(default_factory=io.StringIO)
    problem: str | None = None
    ended: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    """Set once the run ended and its Event was recorded."""

    @property
    def finished(self) -> bool:
        return self.ended.is_set()

    @property
    def lines(self) -> list[str]:
        return self.output.getvalue().splitlines()


class Runs:
    """The console's restores and undos, the latest per volume; one at a time per volume."""

    def __init__(self, kube: client.Kube, options: snapshots.JobOptions) -> None:
        self.kube = kube
        self.options = options
        self._runs: dict[tuple[str, str], Run] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def step(self, obj: Mapping[str, Any], output: io.StringIO | None = None) -> inplace.InPlace:
        """Return the steps of an in-place restore of ``obj``'s PVC, saying what they do into
        ``output``; raise UserError when the source has no PVC."""
        said = rich.console.Console(
            file=output or io.StringIO(), width=OUTPUT_WIDTH, color_system=None, highlight=False
        )
        return inplace.InPlace(self.kube, dict(obj), self.options, said)

    def latest(self, namespace: str, claim: str) -> Run | None:
        """Return the console's latest run on the PVC, if any."""
        return self._runs.get((namespace, claim))

    def start(self, obj: Mapping[str, Any], *, what: str, user: str, work: Work) -> Run:
        """Start ``work`` on the source's PVC; refuse while another run on it goes on."""
        output = io.StringIO()
        step = self.step(obj, output)
        key = (step.namespace, step.claim)
        running = self._runs.get(key)
        if running is not None and not running.finished:
            raise session.UserError(
                f"an in-place {running.what} of PVC {step.claim} is going on already (started "
                f"by {running.user}); wait for it to end"
            )
        run = Run(what, user, datetime.datetime.now(datetime.UTC), output)
        self._runs[key] = run
        task = asyncio.create_task(self._carry(run, step, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    async def _carry(self, run: Run, step: inplace.InPlace, work: Work) -> None:
        try:
            await work(step)
        except session.UserError as error:
            run.problem = str(error)
        except errors.KubeError as error:
            run.problem = f"the API server refused or could not be reached: {error}"
        except Exception as error:
            logger.error("the console's in-place %s failed", run.what, exc_info=error)
            run.problem = f"the {run.what} failed ({type(error).__name__}); see the console's log"
        try:
            await self._record(step.obj, run)
        finally:
            run.ended.set()

    async def _record(self, obj: Mapping[str, Any], run: Run) -> None:
        """Record how the run ended as an Event on the source, naming the person."""
        ended = "failed" if run.problem else "finished"
        note = f"in-place {run.what} {ended} (requested by {run.user} from the pyvolsync console)"
        await self.kube.event(
            obj, type_="Warning" if run.problem else "Normal", action="Console",
            reason=f"InPlace{run.what.capitalize()}{ended.capitalize()}",
            note=note if not run.problem else f"{note}: {run.problem}"[:1000],
        )  # fmt: skip


def plan_key(prepared: inplace.Prepared) -> str:
    """Return a digest of everything the plan shows, to check that the plan a person confirmed
    is the one carried out."""
    shown = {
        "snapshot": prepared.snapshot,
        "paths": prepared.paths,
        "workloads": [str(item) for item in prepared.workloads],
        "class": prepared.snapshot_class,
    }
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:32]


def journal_rows(journal: Journal) -> list[tuple[str, str]]:
    """Return what the page says of the PVC's last in-place restore."""
    finished = journal.phase.finished
    state = str(journal.phase) if finished else f"unfinished at step {journal.phase}"
    return [
        ("state", state),
        ("paths", ", ".join(journal.paths)),
        ("snapshot", journal.snapshot[: views.SHORT_ID_LENGTH]),
        ("safety copy", inplace.safety_named(journal)),
        ("started", journal.started_at),
        ("stopped meanwhile", ", ".join(str(item) for item in journal.workloads) or "nothing"),
    ]


class InPlacePages:
    """The request handlers of the in-place restore: the plan, the restore's page, the undo."""

    def __init__(self, pages: app.Pages, templates: templating.Jinja2Templates, runs: Runs) -> None:
        self.pages = pages
        self.templates = templates
        self.runs = runs

    async def _source(
        self, request: requests.Request, visitor: access.Visitor
    ) -> tuple[dict[str, Any], inplace.InPlace]:
        """Return the source the path names and its steps; refuse what the visitor may not do."""
        kind, obj = await self.pages.object_of(request, visitor)
        if kind != "source" or not (obj.get("spec") or {}).get("sourcePVC"):
            raise starlette_exceptions.HTTPException(
                404, "an in-place restore needs a ReplicationSource with a sourcePVC"
            )
        namespace = obj["metadata"]["namespace"]
        why = "an in-place restore stops the app, writes its volume's journal and runs Jobs"
        for verb, resource, group in (
            ("patch", "persistentvolumeclaims", ""), ("create", "jobs", "batch"),
            ("list", "pods", ""),
        ):  # fmt: skip
            await self.pages.require(visitor, verb, resource, namespace, group=group, why=why)
        return obj, self.runs.step(obj)

    async def _may_stop(
        self, visitor: access.Visitor, namespace: str, workloads: tuple[planning.Workload, ...]
    ) -> None:
        for resource in sorted({inplace.RESOURCE_OF_WORKLOAD[item.kind] for item in workloads}):
            await self.pages.require(
                visitor, "patch", resource, namespace, group="apps",
                why="the restore stops the app meanwhile",
            )  # fmt: skip

    async def plan_page(self, request: requests.Request) -> responses.Response:
        """Chosen paths of a snapshot: the plan in full, then (posted with the page's CSRF token,
        the same plan) the restore, whose page follows."""
        visitor = await self.pages.visitor_of(request)
        obj, step = await self._source(request, visitor)
        form = await request.form() if request.method == "POST" else request.query_params
        paths = [str(path) for path in form.getlist("path") if str(path).strip()]
        snapshot = str(form.get("snapshot") or request.path_params["snapshot"])
        context: dict[str, Any] = {
            "visitor": visitor, "obj": obj, "claim": step.claim, "paths": paths,
            "snapshot": request.path_params["snapshot"], "plan": None, "problem": None,
        }  # fmt: skip
        try:
            prepared = await self._prepared(step, paths, snapshot)
        except session.UserError as error:
            context["problem"] = str(error)
            return self._page(request, "in_place_plan.html", context, status_code=409)
        await self._may_stop(visitor, step.namespace, prepared.workloads)
        context.update(plan=prepared, plan_key=plan_key(prepared))
        if request.method == "GET":
            return self._page(request, "in_place_plan.html", context)
        if not access.csrf_matches(visitor, str(form.get(access.CSRF_FIELD) or "")):
            raise starlette_exceptions.HTTPException(403, "the form is stale; reload the page")
        if form.get("plan") != plan_key(prepared):
            context["problem"] = (
                "what the restore would do changed since the plan was shown (the workloads "
                "mounting the volume, or the snapshot); look at the plan again"
            )
            return self._page(request, "in_place_plan.html", context, status_code=409)
        return await self._start(
            obj, visitor, step, what="restore", paths=prepared.paths, work=_restoring(prepared)
        )

    async def _prepared(
        self, step: inplace.InPlace, paths: list[str], snapshot: str
    ) -> inplace.Prepared:
        if not paths:
            raise session.UserError("choose at least one file or folder to restore")
        await self._refuse_unfinished(step)
        return await inplace.prepare_restore(
            step, paths, snapshot=snapshot, as_of=None, no_stop=False
        )

    async def _refuse_unfinished(self, step: inplace.InPlace) -> None:
        journal = await step.journal()
        running = self.runs.latest(step.namespace, step.claim)
        if (journal is not None and not journal.phase.finished) or (
            running is not None and not running.finished
        ):
            raise session.UserError(
                f"an in-place restore or undo of PVC {step.claim} is going on or unfinished; "
                "finish or undo it on its page first"
            )

    async def _start(
        self,
        obj: Mapping[str, Any],
        visitor: access.Visitor,
        step: inplace.InPlace,
        *,
        what: str,
        paths: tuple[str, ...],
        work: Work,
    ) -> responses.Response:
        self.runs.start(obj, what=what, user=visitor.user, work=work)
        await step.kube.event(
            obj, type_="Normal", reason=f"InPlace{what.capitalize()}Requested", action="Console",
            note=f"in-place {what} of {', '.join(paths)} into PVC {step.claim} requested by "
            f"{visitor.user} from the pyvolsync console",
        )  # fmt: skip
        meta = obj["metadata"]
        target = f"/source/{meta['namespace']}/{meta['name']}/in-place"
        return responses.RedirectResponse(target, status_code=303)

    async def state_page(self, request: requests.Request) -> responses.Response:
        """The volume's last in-place restore: its steps, the console's run, undo or finish
        (``?part=state``: the part that follows a running restore)."""
        visitor = await self.pages.visitor_of(request)
        obj, step = await self._source(request, visitor)
        journal = await self._journal(step)
        run = self.runs.latest(step.namespace, step.claim)
        context: dict[str, Any] = {
            "visitor": visitor, "obj": obj, "claim": step.claim, "journal": journal,
            "rows": journal_rows(journal) if journal else [], "run": run,
            "running": run is not None and not run.finished, "undo_plan": None,
            "problem": None,
        }  # fmt: skip
        if journal is not None and journal.phase is Phase.DONE and not context["running"]:
            try:
                _, context["undo_plan"] = await inplace.prepare_undo(step, journal)
            except session.UserError as error:
                context["problem"] = str(error)
        part = request.query_params.get("part") == "state"
        return self._page(request, "in_place_state.html" if part else "in_place.html", context)

    async def _journal(self, step: inplace.InPlace) -> Journal | None:
        try:
            return await step.journal()
        except session.UserError as error:
            raise starlette_exceptions.HTTPException(409, str(error)) from None

    async def act(self, request: requests.Request) -> responses.Response:
        """Undo the last restore, or finish an unfinished one (a posted form)."""
        visitor = await self.pages.visitor_of(request)
        what = request.path_params["action"]
        if what not in ("undo", "finish"):
            raise starlette_exceptions.HTTPException(404, f"no action {what!r}")
        obj, step = await self._source(request, visitor)
        sent = request.headers.get(access.CSRF_HEADER)
        if sent is None:
            sent = str((await request.form()).get(access.CSRF_FIELD) or "")
        if not access.csrf_matches(visitor, sent):
            raise starlette_exceptions.HTTPException(403, "the form is stale; reload the page")
        journal = await self._journal(step)
        if journal is None or (what == "finish" and journal.phase.finished):
            raise starlette_exceptions.HTTPException(
                409, f"PVC {step.claim} has no unfinished in-place restore to {what}"
            )
        if journal.phase is Phase.UNDONE:
            raise starlette_exceptions.HTTPException(
                409, f"the in-place restore of {', '.join(journal.paths)} was undone already"
            )
        workloads = journal.workloads
        if journal.phase is Phase.DONE:
            workloads = (await step.discover()).workloads
        await self._may_stop(visitor, step.namespace, tuple(workloads))
        try:
            undoing = what == "undo" or journal.phase is Phase.UNDOING
            return await self._start(
                obj, visitor, step, what="undo" if undoing else "restore", paths=journal.paths,
                work=_finishing(what),
            )  # fmt: skip
        except session.UserError as error:
            raise starlette_exceptions.HTTPException(409, str(error)) from None

    def _page(
        self,
        request: requests.Request,
        name: str,
        context: dict[str, Any],
        status_code: int = 200,
    ) -> responses.Response:
        return self.templates.TemplateResponse(request, name, context, status_code=status_code)


def _restoring(prepared: inplace.Prepared) -> Work:
    """Return the work of carrying out a prepared restore."""

    async def work(step: inplace.InPlace) -> Journal:
        return await inplace.start_restore(step, prepared)

    return work


def _finishing(what: str) -> Work:
    """Return the work of an undo, or of finishing the restore or undo the journal records."""

    async def work(step: inplace.InPlace) -> Journal:
        journal = await step.journal()
        if what == "undo" or (journal is not None and journal.phase is Phase.UNDOING):
            return await inplace.undo(step, yes=True)
        assert journal is not None
        return await inplace.resume(step, journal, journal.paths)

    return work
