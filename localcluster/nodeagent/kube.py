"""Small API and filesystem helpers the controllers share."""

from __future__ import annotations

import asyncio
import pathlib
import shutil
from typing import Any

import lightkube
from lightkube.types import PatchType


def name_of(item: Any) -> str:
    return str(item.metadata.name or "")


def namespace_of(item: Any) -> str:
    return str(item.metadata.namespace or "")


def annotations_of(item: Any) -> dict[str, str]:
    return dict(item.metadata.annotations or {})


def finalizers_of(item: Any) -> list[str]:
    return list(item.metadata.finalizers or [])


async def add_finalizer(
    client: lightkube.AsyncClient, resource: Any, item: Any, finalizer: str
) -> None:
    if finalizer in finalizers_of(item):
        return
    metadata = item.metadata
    patch: list[dict[str, Any]] = [
        {"op": "add", "path": "/metadata/finalizers/-", "value": finalizer}
    ]
    if not metadata.finalizers:
        patch = [{"op": "add", "path": "/metadata/finalizers", "value": [finalizer]}]
    await client.patch(
        resource, metadata.name, patch, namespace=metadata.namespace, patch_type=PatchType.JSON
    )


async def remove_finalizer(
    client: lightkube.AsyncClient,
    resource: Any,
    name: str,
    finalizer: str,
    *,
    namespace: str | None,
) -> None:
    """Remove one finalizer, tolerating concurrent edits and an already deleted object."""
    for _attempt in range(5):
        try:
            current = await client.get(resource, name, namespace=namespace)
        except lightkube.ApiError as error:
            if error.status.code == 404:
                return
            raise
        present = finalizers_of(current)
        if finalizer not in present:
            return
        index = present.index(finalizer)
        patch = [
            {"op": "test", "path": f"/metadata/finalizers/{index}", "value": finalizer},
            {"op": "remove", "path": f"/metadata/finalizers/{index}"},
        ]
        try:
            await client.patch(
                resource, name, patch, namespace=namespace, patch_type=PatchType.JSON
            )
            return
        except lightkube.ApiError as error:
            if error.status.code == 404:
                return
            if error.status.code not in {409, 422}:
                raise


async def delete_ignoring_missing(
    client: lightkube.AsyncClient, resource: Any, name: str, *, namespace: str | None = None
) -> None:
    try:
        await client.delete(resource, name, namespace=namespace)
    except lightkube.ApiError as error:
        if error.status.code != 404:
            raise


async def get_or_none(
    client: lightkube.AsyncClient, resource: Any, name: str, *, namespace: str | None = None
) -> Any:
    try:
        return await client.get(resource, name, namespace=namespace)
    except lightkube.ApiError as error:
        if error.status.code == 404:
            return None
        raise


async def copy_tree(source: pathlib.Path, target: pathlib.Path) -> None:
    """Copy a directory with owners, modes, times and links (``cp -a``), atomically."""
    partial = target.with_name(target.name + ".partial")
    await remove_tree(partial)
    process = await asyncio.create_subprocess_exec(
        "cp", "-aT", "--", str(source), str(partial), stderr=asyncio.subprocess.PIPE
    )
    _, error = await process.communicate()
    if process.returncode != 0:
        raise OSError(f"copying {source} failed: {error.decode(errors='replace').strip()}")
    await remove_tree(target)
    partial.rename(target)


async def make_directory(target: pathlib.Path, mode: int) -> None:
    await remove_tree(target)
    target.mkdir(parents=True)
    target.chmod(mode)


async def remove_tree(target: pathlib.Path) -> None:
    if target.exists() or target.is_symlink():
        await asyncio.to_thread(shutil.rmtree, target, ignore_errors=True)
