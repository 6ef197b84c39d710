"""The console's snapshot pages: the catalog, a folder, a file's preview, a download, and a
restore of a whole snapshot into a new volume.

Each read runs the browser's short Job (``browsing``); each page first checks that the person may
run it (create Jobs in the namespace). The restore shows its plan in full before it creates
anything (``restoring``).
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from starlette import exceptions as starlette_exceptions
from starlette import requests, responses, templating

from pyvolsync.cli import browse, session, views
from pyvolsync.cli.console import access, browsing, restoring
from pyvolsync.cli.console.kinds import GROUP, KINDS, PLURALS
from pyvolsync.kube import client

if TYPE_CHECKING:
    from pyvolsync.cli.console import app


class SnapshotPages:
    """The request handlers of the snapshot pages."""

    def __init__(self, pages: app.Pages, templates: templating.Jinja2Templates) -> None:
        self.pages = pages
        self.templates = templates

    async def snapshot_list(self, request: requests.Request) -> responses.Response:
        """The object's snapshots, newest first, each with a link to browse it."""
        visitor = await self.pages.visitor_of(request)
        kind, obj = await self.pages.object_of(request, visitor)
        await self.may_browse(visitor, obj)
        entries = await self.pages.console.browser.catalog(obj)
        context = {"visitor": visitor, "kind": kind, "obj": obj, "entries": entries}
        return self.templates.TemplateResponse(request, "snapshots.html", context)

    async def may_browse(self, visitor: access.Visitor, obj: Mapping[str, Any]) -> None:
        """Raise 403 unless the visitor may run the short Jobs that read snapshots."""
        namespace = obj["metadata"]["namespace"]
        await self.pages.require(
            visitor, "create", "jobs", namespace, group="batch",
            why="reading snapshots runs a short Job, as `pyvolsync ls` does",
        )  # fmt: skip

    def _where(self, request: requests.Request) -> tuple[str, str]:
        """Return the snapshot and the path (``/`` unless ``?path=`` says otherwise)."""
        path = request.query_params.get("path") or "/"
        if not path.startswith("/"):
            raise starlette_exceptions.HTTPException(400, f"path {path!r} must start with /")
        return request.path_params["snapshot"], path

    async def _inside(self, request: requests.Request) -> dict[str, Any]:
        """Return what a page inside a snapshot shows whatever it is: who, which object, which
        snapshot and path, the way back; 403 unless the visitor may browse."""
        visitor = await self.pages.visitor_of(request)
        kind, obj = await self.pages.object_of(request, visitor)
        await self.may_browse(visitor, obj)
        snapshot, path = self._where(request)
        return {
            "visitor": visitor, "kind": kind, "obj": obj, "snapshot": snapshot, "path": path,
            "crumbs": crumbs(path), "shown": browse.display_name,
        }  # fmt: skip

    async def folder(self, request: requests.Request) -> responses.Response:
        """One folder of a snapshot: its entries, each to open, preview or download."""
        context = await self._inside(request)
        obj, snapshot, path = context["obj"], context["snapshot"], context["path"]
        entries, read = await self.pages.console.browser.folder(obj, snapshot, path)
        context.update(snapshot=read or snapshot, entries=sorted(entries, key=listing_order))
        return self.templates.TemplateResponse(request, "folder.html", context)

    async def preview(self, request: requests.Request) -> responses.Response:
        """The first bytes of a file, as text when it is text."""
        context = await self._inside(request)
        context["preview"] = await self.pages.console.browser.preview(
            context["obj"], context["snapshot"], context["path"]
        )
        context["limit"] = views.size(browsing.PREVIEW_BYTES)
        return self.templates.TemplateResponse(request, "preview.html", context)

    async def download(self, request: requests.Request) -> responses.Response:
        """A file's bytes, or a folder as a tar archive, streamed as the Job reads them."""
        visitor = await self.pages.visitor_of(request)
        _, obj = await self.pages.object_of(request, visitor)
        await self.may_browse(visitor, obj)
        snapshot, path = self._where(request)
        folder = request.query_params.get("folder") == "1"
        stack = contextlib.AsyncExitStack()
        chunks = await stack.enter_async_context(
            self.pages.console.browser.stream(obj, snapshot, path, folder=folder)
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

    async def restore_page(self, request: requests.Request) -> responses.Response:
        """Restore a snapshot into a new PVC: the form, then the plan in full, then (posted
        with the page's CSRF token) the PVC and the ReplicationDestination, whose page follows."""
        visitor = await self.pages.visitor_of(request)
        kind, obj = await self.pages.object_of(request, visitor)
        if kind != "source":
            raise starlette_exceptions.HTTPException(404, "restore a snapshot from its source")
        namespace = obj["metadata"]["namespace"]
        for resource, group in (("persistentvolumeclaims", ""), (PLURALS["destination"], GROUP)):
            await self.pages.require(
                visitor, "create", resource, namespace, group=group,
                why="a restore creates a PVC and a ReplicationDestination",
            )  # fmt: skip
        await self.may_browse(visitor, obj)
        form = await request.form() if request.method == "POST" else request.query_params
        source_claim = (obj.get("spec") or {}).get("sourcePVC")
        wanted = str(form.get("to") or "")
        snapshot = request.path_params["snapshot"]
        context: dict[str, Any] = {
            "visitor": visitor, "kind": kind, "obj": obj, "snapshot": snapshot,
            "to": wanted or f"{source_claim or obj['metadata']['name']}-restored", "plan": None,
            "problem": None,
        }  # fmt: skip
        if not wanted:
            return self.templates.TemplateResponse(request, "restore.html", context)
        try:
            chosen = await self._restore_plan(obj, snapshot, wanted, source_claim)
        except session.UserError as error:
            context["problem"] = str(error)
            return self.templates.TemplateResponse(
                request, "restore.html", context, status_code=400
            )
        if request.method == "GET":
            context["plan"] = chosen
            return self.templates.TemplateResponse(request, "restore.html", context)
        if not access.csrf_matches(visitor, str(form.get(access.CSRF_FIELD) or "")):
            raise starlette_exceptions.HTTPException(403, "the form is stale; reload the page")
        return await self._restore(obj, chosen, visitor)

    async def _restore_plan(
        self, obj: Mapping[str, Any], snapshot: str, claim: str, source_claim: str | None
    ) -> restoring.Plan:
        restoring.check_claim_name(claim, source_claim=source_claim)
        entries = await self.pages.console.browser.catalog(obj)
        found = [entry for entry in entries if entry.id.startswith(snapshot)]
        if len(found) != 1:
            raise session.UserError(f"no snapshot {snapshot[:8]} in the catalog any more")
        claim_of = await self.pages.console.kube.get(
            client.Kind.CLAIM, source_claim or "", namespace=obj["metadata"]["namespace"]
        ) if source_claim else None  # fmt: skip
        return restoring.plan(obj, claim_of, found[0], claim=claim)

    async def _restore(
        self, obj: Mapping[str, Any], chosen: restoring.Plan, visitor: access.Visitor
    ) -> responses.Response:
        await restoring.carry_out(self.pages.console.kube, chosen)
        await self.pages.console.kube.event(
            obj, type_="Normal", reason="RestoreRequested", action="Console",
            note=f"snapshot {chosen.snapshot.id[:8]} restore into new PVC {chosen.claim_name} "
            f"requested by {visitor.user} from the pyvolsync console",
        )  # fmt: skip
        key = (KINDS["destination"], chosen.namespace, chosen.destination_name)
        with contextlib.suppress(TimeoutError):
            await self.pages.console.fleet.wait_for(
                key, lambda found: found is not None, timeout=10
            )
        target = f"/destination/{chosen.namespace}/{chosen.destination_name}"
        return responses.RedirectResponse(target, status_code=303)


def crumbs(path: str) -> list[tuple[str, str]]:
    """Return (name, path) of each folder on the way to ``path``, the root first."""
    parts = [part for part in path.split("/") if part]
    return [("/", "/")] + [
        (part, "/" + "/".join(parts[: index + 1])) for index, part in enumerate(parts)
    ]


def listing_order(entry: Any) -> tuple[bool, str]:
    """Folders first, then by name."""
    return (entry.type != "dir", entry.path)
