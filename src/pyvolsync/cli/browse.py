"""``pyvolsync ls|cat|download|find|diff``: get one file back without restoring a volume.

"I deleted a config file" is the common restore. These commands read a snapshot where it is:
each runs the engine's read-only browsing operation (``pyvolsync.inpod.browse``) in a short Job
in the object's namespace, like ``snapshots`` (the password stays in the cluster; the Job is
deleted afterwards). Listings come back as one line of the Job's log; file content streams
through the log as it is written, checked against its byte count and SHA-256, straight to
stdout (``cat``) or into files (``download``), never held whole in memory.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import sys
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import rich.console
import typer
import yaml

from pyvolsync import contract
from pyvolsync.cli import actions, restore, session, snapshots, views
from pyvolsync.kube import client

LIST_OUTPUTS = ("table", "wide", "json", "yaml")

SnapshotOption = Annotated[
    str | None,
    typer.Option("--snapshot", help="Snapshot ID or its first characters (default: the newest)."),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Read the newest snapshot at or before this RFC 3339 time."),
]
OutputOption = Annotated[
    str,
    typer.Option("--output", "-o", help="table (the columns that fit), wide (all), json or yaml."),
]
RepositoryNfsOption = snapshots.RepositoryNfsOption
MoverImageOption = snapshots.MoverImageOption
JobTimeoutOption = snapshots.JobTimeoutOption


def environment(
    *,
    snapshot: str | None = None,
    as_of: str | None = None,
    paths: tuple[str, ...] = (),
    pattern: str = "",
    other: str | None = None,
) -> dict[str, str]:
    """Return what the browsing operation reads from its environment."""
    if snapshot and as_of:
        raise session.UserError("give --snapshot or --as-of, not both")
    values = {
        contract.EnvVar.SNAPSHOT.value: snapshot or "",
        contract.EnvVar.AS_OF.value: restore.check_as_of(as_of) or "",
        contract.EnvVar.PATHS.value: json.dumps(list(paths)) if paths else "",
        contract.EnvVar.PATTERN.value: pattern,
        contract.EnvVar.OTHER_SNAPSHOT.value: other or "",
    }
    return {name: value for name, value in values.items() if value}


def _settings(**given: Any) -> dict[str, str]:
    """Return ``environment(**given)``; a mistake in it ends the command with one line."""
    try:
        return environment(**given)
    except session.UserError as error:
        raise session.fail(str(error)) from None


async def _job(
    kube: client.Kube,
    request: snapshots.Request,
    operation: contract.Operation,
    values: Mapping[str, str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    obj = await request.find(kube)
    job = await snapshots.prepared_job(
        kube, obj, request.options, operation=operation, environment=values
    )
    return obj, job


def listed(
    request: snapshots.Request, operation: contract.Operation, values: Mapping[str, str]
) -> tuple[list[contract.TreeEntry], str]:
    """Run a listing operation (``ls``, ``find``, ``diff``); return its entries and snapshot."""

    async def body(kube: client.Kube) -> tuple[list[contract.TreeEntry], str]:
        obj, job = await _job(kube, request, operation, values)
        log = await snapshots.run_listing(
            kube,
            job,
            timeout=request.options.timeout,
            owner=obj["metadata"]["name"],
            action=f"{operation} failed",
        )
        parsed = contract.parse_tree(log)
        if parsed is None:
            raise session.UserError(f"{operation}: the Job printed no listing; see its log")
        return parsed

    return session.run(body, request.target)


def streamed(
    request: snapshots.Request,
    operation: contract.Operation,
    values: Mapping[str, str],
    sink_for: Callable[[contract.StreamHeader], Callable[[bytes], None]],
) -> list[contract.StreamHeader]:
    """Run ``cat`` or ``download``; pass each stream's bytes to the sink ``sink_for`` gives for
    it as they arrive; return the streams received whole."""
    received: list[contract.StreamHeader] = []

    async def body(kube: client.Kube) -> None:
        obj, job = await _job(kube, request, operation, values)
        reader = contract.StreamDecoder(sink_for, received.append)
        await snapshots.run_streaming(
            kube,
            job,
            timeout=request.options.timeout,
            owner=obj["metadata"]["name"],
            action=f"{operation} failed",
            on_line=reader.feed,
        )
        reader.finish()

    try:
        session.run(body, request.target)
    except contract.StreamError as error:
        raise session.fail(f"{error}; run the command again") from None
    return received


def display_name(path: str) -> str:
    """Return ``path`` with control characters (a newline in a name) shown escaped."""
    return "".join(
        character.encode("unicode_escape").decode() if not character.isprintable() else character
        for character in path
    )


Row = dict[str, Any]


def _owner(row: Row) -> str:
    return f"{row['uid']}:{row['gid']}"


def _size(row: Row) -> str:
    return views.size(row["size"]) if row["type"] == "file" else "-"


def _name(row: Row) -> str:
    shown = display_name(row["path"])
    if row["type"] == "symlink" and row["target"]:
        return f"{shown} -> {display_name(row['target'])}"
    return f"{shown}/" if row["type"] == "dir" else shown


LS_COLUMNS = (
    views.Column("MODE", lambda row: row["mode"]),
    views.Column("OWNER", _owner, drop_rank=2),
    views.Column("SIZE", _size),
    views.Column("MODIFIED", lambda row: row["mtime"], drop_rank=1),
    views.Column("NAME", _name),
)
FIND_COLUMNS = (
    views.Column("SNAPSHOT", lambda row: row["snapshot"][: views.SHORT_ID_LENGTH]),
    views.Column("MODIFIED", lambda row: row["mtime"], drop_rank=2),
    views.Column("SIZE", _size, drop_rank=1),
    views.Column("PATH", _name),
)
DIFF_COLUMNS = (
    views.Column("CHANGE", lambda row: row["change"]),
    views.Column("MODE", lambda row: row["mode"], drop_rank=3),
    views.Column("SIZE", _size, drop_rank=2),
    views.Column("MODIFIED", lambda row: row["mtime"], drop_rank=1),
    views.Column("PATH", _name),
)


def print_entries(
    entries: list[contract.TreeEntry],
    columns: tuple[views.Column, ...],
    *,
    output: str,
    empty: str,
) -> None:
    """Print a listing as a table, JSON or YAML (the entries' fields)."""
    if output not in LIST_OUTPUTS:
        raise session.fail(f"-o {output}: choose one of {', '.join(LIST_OUTPUTS)}")
    documents = [
        {key: value for key, value in vars(entry).items() if value not in ("", None)}
        for entry in entries
    ]
    if output == "json":
        typer.echo(json.dumps(documents, indent=2, ensure_ascii=False))
    elif output == "yaml":
        typer.echo(yaml.safe_dump(documents, sort_keys=False, allow_unicode=True).rstrip("\n"))
    elif not entries:
        rich.console.Console().print(empty, highlight=False)
    else:
        rows = [dataclasses.asdict(entry) for entry in entries]
        views.print_table(rich.console.Console(), columns, rows, wide=output == "wide")


def ls(
    name: actions.NameArgument,
    path: Annotated[str, typer.Argument(help="Folder or file inside the volume.")] = "/",
    *,
    snapshot: SnapshotOption = None,
    as_of: AsOfOption = None,
    output: OutputOption = "table",
    repository_nfs: RepositoryNfsOption = None,
    mover_image: MoverImageOption = None,
    timeout: JobTimeoutOption = snapshots.JOB_DEADLINE_SECONDS,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """List a folder of NAME's newest snapshot (or --snapshot, --as-of): mode, owner, size,
    modification time, name.

    Example: pyvolsync ls nextcloud /config --as-of 2026-11-25T03:00:00Z -n apps
    """
    request = snapshots.Request.of(
        name=name, repository_nfs=repository_nfs, mover_image=mover_image, timeout=timeout,
        namespace=namespace, kind=kind, kubeconfig=kubeconfig, context=context,
    )  # fmt: skip
    values = _settings(snapshot=snapshot, as_of=as_of, paths=(path,))
    entries, read = listed(request, contract.Operation.LS, values)
    if output in ("table", "wide"):
        typer.echo(f"{display_name(path)} in snapshot {read[: views.SHORT_ID_LENGTH]} of {name}")
    print_entries(entries, LS_COLUMNS, output=output, empty="(an empty folder)")


def cat(
    name: actions.NameArgument,
    path: Annotated[str, typer.Argument(help="File inside the volume.")],
    *,
    snapshot: SnapshotOption = None,
    as_of: AsOfOption = None,
    repository_nfs: RepositoryNfsOption = None,
    mover_image: MoverImageOption = None,
    timeout: JobTimeoutOption = snapshots.JOB_DEADLINE_SECONDS,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Print a file of NAME's newest snapshot (or --snapshot, --as-of) to stdout, byte for byte.

    Example: pyvolsync cat nextcloud /config/config.php --snapshot 1a2b3c4d -n apps > config.php
    """
    request = snapshots.Request.of(
        name=name, repository_nfs=repository_nfs, mover_image=mover_image, timeout=timeout,
        namespace=namespace, kind=kind, kubeconfig=kubeconfig, context=context,
    )  # fmt: skip
    values = _settings(snapshot=snapshot, as_of=as_of, paths=(path,))
    output = sys.stdout.buffer

    def write(data: bytes) -> None:
        output.write(data)

    streamed(request, contract.Operation.CAT, values, lambda header: write)
    output.flush()


def download(
    name: actions.NameArgument,
    paths: Annotated[list[str], typer.Argument(help="Files or folders inside the volume.")],
    *,
    to: Annotated[pathlib.Path, typer.Option("--to", help="Folder to create and download into.")],
    snapshot: SnapshotOption = None,
    as_of: AsOfOption = None,
    repository_nfs: RepositoryNfsOption = None,
    mover_image: MoverImageOption = None,
    timeout: JobTimeoutOption = snapshots.JOB_DEADLINE_SECONDS,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Download files and folders of NAME's newest snapshot (or --snapshot, --as-of) into a new
    folder, with their modes and modification times; each lands under its own name.

    Example: pyvolsync download nextcloud /config /data/notes.md --to ./recovered -n apps
    """
    if to.exists():
        raise session.fail(f"--to {to}: it exists already; name a folder that does not")
    request = snapshots.Request.of(
        name=name, repository_nfs=repository_nfs, mover_image=mover_image, timeout=timeout,
        namespace=namespace, kind=kind, kubeconfig=kubeconfig, context=context,
    )  # fmt: skip
    values = _settings(snapshot=snapshot, as_of=as_of, paths=tuple(paths))
    extractions: list[contract.TarExtraction] = []

    def sink_for(header: contract.StreamHeader) -> Callable[[bytes], None]:
        for previous in extractions:
            previous.close()
        extractions[:] = [contract.TarExtraction(str(to))]
        return extractions[0].write

    to.mkdir(parents=True)
    try:
        received = streamed(request, contract.Operation.DOWNLOAD, values, sink_for)
        for extraction in extractions:
            extraction.close()
    except contract.StreamError as error:
        raise session.fail(f"{error}; run the command again") from None
    named = ", ".join(display_name(header.path) for header in received)
    rich.console.Console().print(f"downloaded {named} into {to}", highlight=False)


def find(
    name: actions.NameArgument,
    pattern: Annotated[str, typer.Argument(help="Shell pattern of a name or a path: '*.db'.")],
    *,
    output: OutputOption = "table",
    repository_nfs: RepositoryNfsOption = None,
    mover_image: MoverImageOption = None,
    timeout: JobTimeoutOption = snapshots.JOB_DEADLINE_SECONDS,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Show which of NAME's snapshots hold a path matching PATTERN, newest snapshot first.

    Example: pyvolsync find nextcloud 'config.php' -n apps
    """
    request = snapshots.Request.of(
        name=name, repository_nfs=repository_nfs, mover_image=mover_image, timeout=timeout,
        namespace=namespace, kind=kind, kubeconfig=kubeconfig, context=context,
    )  # fmt: skip
    entries, _ = listed(request, contract.Operation.FIND, _settings(pattern=pattern))
    empty = f"no path matches {pattern!r} in the snapshots of {name}"
    print_entries(entries, FIND_COLUMNS, output=output, empty=empty)


def diff(
    name: actions.NameArgument,
    first: Annotated[str, typer.Argument(help="The older snapshot (its ID or first characters).")],
    second: Annotated[
        str | None, typer.Argument(help="The newer snapshot (default: the newest).")
    ] = None,
    *,
    output: OutputOption = "table",
    repository_nfs: RepositoryNfsOption = None,
    mover_image: MoverImageOption = None,
    timeout: JobTimeoutOption = snapshots.JOB_DEADLINE_SECONDS,
    namespace: session.NamespaceOption = None,
    kind: session.KindOption = None,
    kubeconfig: session.KubeconfigOption = None,
    context: session.ContextOption = None,
) -> None:
    """Show what was added, removed or modified between two of NAME's snapshots.

    Example: pyvolsync diff nextcloud 1a2b3c4d 9f8e7d6c -n apps
    """
    request = snapshots.Request.of(
        name=name, repository_nfs=repository_nfs, mover_image=mover_image, timeout=timeout,
        namespace=namespace, kind=kind, kubeconfig=kubeconfig, context=context,
    )  # fmt: skip
    values = _settings(snapshot=first, other=second)
    entries, _ = listed(request, contract.Operation.DIFF, values)
    print_entries(entries, DIFF_COLUMNS, output=output, empty="no differences")
