"""The console's snapshot browser: the catalog, a folder, a file's first bytes, a download.

Each read runs the same short, read-only Job as ``pyvolsync snapshots|ls|cat|download`` (the
repository password stays in the cluster). A snapshot never changes, so a folder read once is
kept in memory for the next visit. Downloads stream from the Job's log to the browser with
back-pressure: a slow browser slows the Job's log down instead of filling the console's memory,
and a stream whose byte count or SHA-256 is wrong ends the download as failed, never as a
complete file.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pyvolsync import contract
from pyvolsync.cli import session, snapshots
from pyvolsync.kube import client

FOLDERS_KEPT = 256
PREVIEW_BYTES = 256 * 1024
"""The most of a file the preview shows."""
CHUNKS_AHEAD = 64
"""Decoded chunks a download may hold before the Job's log is read more slowly."""


@dataclasses.dataclass(frozen=True)
class Preview:
    """The first bytes of a file as text, or why it is not shown as text."""

    text: str | None
    truncated: bool
    binary: bool


class Browser:
    """Reads snapshots with the console's credentials and the Job settings it was started with."""

    def __init__(self, kube: client.Kube, options: snapshots.JobOptions) -> None:
        self.kube = kube
        self.options = options
        self._folders: collections.OrderedDict[tuple[str, str, str], Any] = (
            collections.OrderedDict()
        )

    async def catalog(self, obj: Mapping[str, Any]) -> list[contract.CatalogEntry]:
        """Return the object's snapshots, newest first."""
        found = await snapshots.run_catalog(self.kube, obj, self.options)
        return contract.newest_first(found)

    async def folder(
        self, obj: Mapping[str, Any], snapshot: str, path: str
    ) -> tuple[list[contract.TreeEntry], str]:
        """Return the entries of ``path`` in ``snapshot`` (a full ID is remembered)."""
        key = (str(obj["metadata"].get("uid")), snapshot, path)
        if key in self._folders:
            self._folders.move_to_end(key)
            return self._folders[key]  # type: ignore[no-any-return]
        found = await self._listing(obj, snapshot, path)
        if len(snapshot) >= len(found[1]) > 0:
            self._folders[key] = found
            while len(self._folders) > FOLDERS_KEPT:
                self._folders.popitem(last=False)
        return found

    async def _listing(
        self, obj: Mapping[str, Any], snapshot: str, path: str
    ) -> tuple[list[contract.TreeEntry], str]:
        job = await self._job(obj, contract.Operation.LS, snapshot, path)
        log = await snapshots.run_listing(
            self.kube,
            job,
            timeout=self.options.timeout,
            owner=obj["metadata"]["name"],
            action="the folder could not be listed",
        )
        parsed = contract.parse_tree(log)
        if parsed is None:
            raise session.UserError("the folder could not be listed: the Job printed no listing")
        return parsed

    async def _job(
        self, obj: Mapping[str, Any], operation: contract.Operation, snapshot: str, path: str
    ) -> dict[str, Any]:
        environment = {
            contract.EnvVar.SNAPSHOT.value: snapshot,
            contract.EnvVar.PATHS.value: json.dumps([path]),
        }
        return await snapshots.prepared_job(
            self.kube, obj, self.options, operation=operation, environment=environment
        )

    async def preview(self, obj: Mapping[str, Any], snapshot: str, path: str) -> Preview:
        """Return up to PREVIEW_BYTES of the file, as text when it is text."""
        taken = bytearray()
        truncated = False
        async with self.stream(obj, snapshot, path, folder=False) as chunks:
            async for chunk in chunks:
                taken += chunk
                if len(taken) > PREVIEW_BYTES:
                    truncated = True
                    break
        head = bytes(taken[:PREVIEW_BYTES])
        try:
            text = head.decode("utf-8") if b"\0" not in head else None
        except UnicodeDecodeError as error:
            text = head[: error.start].decode("utf-8") if truncated and error.start > 0 else None
        return Preview(text, truncated, text is None)

    @contextlib.asynccontextmanager
    async def stream(
        self, obj: Mapping[str, Any], snapshot: str, path: str, *, folder: bool
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """Open a stream of a file's bytes (``folder`` False) or a tar archive of a folder.

        A failure before the first byte (no such path, repository unreachable) raises here,
        so the caller can answer with a message; a failure later raises from the iteration.
        Leaving the context early stops the Job.
        """
        operation = contract.Operation.DOWNLOAD if folder else contract.Operation.CAT
        job = await self._job(obj, operation, snapshot, path)
        pipe = _Pipe()
        task = asyncio.create_task(self._run(obj, job, pipe))
        try:
            await pipe.started(task)
            yield pipe.chunks(task)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, obj: Mapping[str, Any], job: dict[str, Any], pipe: _Pipe) -> None:
        decoder = contract.StreamDecoder(lambda header: pipe.put)
        try:
            await snapshots.run_streaming(
                self.kube,
                job,
                timeout=self.options.timeout,
                owner=obj["metadata"]["name"],
                action="the file could not be read",
                on_line=lambda line: pipe.fed(decoder, line),
            )
            decoder.finish()
        finally:
            pipe.close()


class _Pipe:
    """Decoded bytes on their way from the Job's log to the browser, with back-pressure."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.room = asyncio.Event()
        self.room.set()
        self.arrived = asyncio.Event()
        """Set by the first bytes."""

    def put(self, data: bytes) -> None:
        """Take decoded bytes (from the decoder's sink)."""
        self.queue.put_nowait(data)
        self.arrived.set()
        if self.queue.qsize() >= CHUNKS_AHEAD:
            self.room.clear()

    def close(self) -> None:
        """Say the stream ended (well or not: the task tells)."""
        self.queue.put_nowait(None)

    async def fed(self, decoder: contract.StreamDecoder, line: str) -> None:
        """Decode one log line; wait while the browser is too far behind."""
        decoder.feed(line)
        await self.room.wait()

    async def started(self, task: asyncio.Task[None]) -> None:
        """Wait for the first bytes or the end; raise the Job's failure if it came first."""
        arriving = asyncio.ensure_future(self.arrived.wait())
        await asyncio.wait({arriving, task}, return_when=asyncio.FIRST_COMPLETED)
        arriving.cancel()
        if task.done() and not self.arrived.is_set():
            failure = task.exception()
            if failure is not None:
                raise failure

    async def chunks(self, task: asyncio.Task[None]) -> AsyncIterator[bytes]:
        """Yield the bytes as they come; raise the Job's failure at the end, if any."""
        while (data := await self.queue.get()) is not None:
            if self.queue.qsize() < CHUNKS_AHEAD // 2:
                self.room.set()
            yield data
        await task
