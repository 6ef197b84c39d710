"""``pyvolsync restore NAME --path P --in-place`` and ``pyvolsync undo NAME``: paths put back
into the live volume, safely.

The steps: check that the snapshot holds every path (a dry run of the mover's
``restore-paths``); find the Deployments and StatefulSets that mount the source's PVC (a pod
nobody can scale stops the restore before anything changes); scale them to zero and wait for
their pods to go; take a pinned backup of the volume as it is (the safety copy); restore the
paths (``restore-paths``, other files untouched); scale the workloads back. Each step is first
written to the PVC's journal (``planning.inplace``), so a rerun after an interruption finishes
the restore, and ``undo`` puts the paths back from the safety copy. A failure before the
volume was written starts the app again at once; after that, the app stays stopped and the
message says so and what to run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import re
from collections.abc import Sequence

import rich.console

from pyvolsync import contract
from pyvolsync.cli import session, snapshots, views
from pyvolsync.kube import client, errors
from pyvolsync.planning import inplace, metadata, names
from pyvolsync.planning.inplace import Journal, Phase

BEFORE_MOUNT = "/before"
"""Where the undo's Job mounts the volume made from a VolumeSnapshot safety copy."""
KIND_OF_WORKLOAD = {"Deployment": client.Kind.DEPLOYMENT, "StatefulSet": client.Kind.STATEFUL_SET}
RESOURCE_OF_WORKLOAD = {"Deployment": "deployments", "StatefulSet": "statefulsets"}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class InPlace:
    """One in-place restore (or undo) of a source's PVC, step by step."""

    def __init__(
        self,
        kube: client.Kube,
        obj: session.JsonObject,
        options: snapshots.JobOptions,
        console: rich.console.Console,
    ) -> None:
        self.kube = kube
        self.obj = obj
        self.options = options
        self.console = console
        self.name = obj["metadata"]["name"]
        self.namespace = obj["metadata"]["namespace"]
        claim = (obj.get("spec") or {}).get("sourcePVC")
        if not claim:
            raise session.UserError(f"{self.name!r} has no spec.sourcePVC to restore into")
        self.claim = str(claim)

    @property
    def named(self) -> str:
        """The command-line arguments that name the source."""
        return f"{self.name} -n {self.namespace}"

    async def journal(self) -> Journal | None:
        """Return the PVC's journal; raise UserError when the PVC is missing."""
        found = await self.kube.get(client.Kind.CLAIM, self.claim, namespace=self.namespace)
        if found is None:
            raise session.UserError(f"PVC {self.namespace}/{self.claim} does not exist")
        try:
            return inplace.read_journal(found)
        except inplace.JournalError as error:
            raise session.UserError(str(error)) from None

    async def write(self, journal: Journal | None) -> Journal | None:
        """Write the journal (None: remove it) on the PVC; return it."""
        await self.kube.patch(
            client.Kind.CLAIM, self.claim, inplace.journal_patch(journal), namespace=self.namespace
        )
        return journal

    async def discover(self) -> inplace.Discovery:
        """Return the workloads that mount the PVC, and the pods nobody can stop."""
        where = self.namespace
        deployments, stateful_sets, replica_sets, pods = await asyncio.gather(
            self.kube.list(client.Kind.DEPLOYMENT, namespace=where),
            self.kube.list(client.Kind.STATEFUL_SET, namespace=where),
            self.kube.list(client.Kind.REPLICA_SET, namespace=where),
            self.kube.list(client.Kind.POD, namespace=where),
        )
        return inplace.discover(
            self.claim, deployments=deployments, stateful_sets=stateful_sets,
            replica_sets=replica_sets, pods=pods,
        )  # fmt: skip

    async def check_permissions(self, workloads: Sequence[inplace.Workload]) -> None:
        """Refuse, before anything changes, what the user may not do."""
        needed = [("patch", "persistentvolumeclaims", ""), ("create", "jobs", "batch")]
        needed += [("patch", RESOURCE_OF_WORKLOAD[item.kind], "apps") for item in workloads]
        for verb, resource, group in dict.fromkeys(needed):
            if not await self.kube.allowed(verb, resource, group=group, namespace=self.namespace):
                raise session.UserError(
                    f"you may not {verb} {resource} in namespace {self.namespace}, which the "
                    "in-place restore needs; nothing was changed"
                )

    async def scale(self, workloads: Sequence[inplace.Workload], *, stopping: bool) -> None:
        """Scale each workload to zero (with the note saying why) or back to its replicas."""
        for item in workloads:
            note = inplace.stop_note(item, claim=self.claim, since=_now()) if stopping else None
            patch = inplace.scale_patch(0 if stopping else item.replicas, note=note)
            await self.kube.patch(
                KIND_OF_WORKLOAD[item.kind], item.name, patch, namespace=self.namespace
            )
            state = "stopped" if stopping else "started again"
            self.console.print(f"{item} {state}", highlight=False)

    async def wait_until_unmounted(self) -> None:
        """Wait until no pod mounts the PVC; raise UserError naming the pods still there."""
        mounting: list[str] = []

        async def unmounted() -> bool | None:
            pods = await self.kube.list(client.Kind.POD, namespace=self.namespace)
            found = inplace.pods_mounting(pods, self.claim)
            mounting[:] = [pod["metadata"]["name"] for pod in found]
            return True if not mounting else None

        await session.poll(
            unmounted,
            timeout=self.options.timeout,
            timed_out=lambda: (
                f"pods still mount PVC {self.claim} after "
                f"{self.options.timeout:g} s: {', '.join(mounting)}; the volume is untouched: run "
                f"the same command again to go on, or `pyvolsync undo {self.named}` to start the "
                "app again"
            ),
        )

    async def data_volume(self, *, read_only: bool) -> snapshots.DataVolume:
        """Return the PVC as the source's own mover mounts it (its ServiceAccount, privileges)."""
        spec = self.obj.get("spec") or {}
        section = spec.get(session.engine_of(self.obj)) or {}
        account = section.get("moverServiceAccount") or names.service_account(
            names.Role.SOURCE, self.name
        )
        found = await self.kube.get(client.Kind.SERVICE_ACCOUNT, account, namespace=self.namespace)
        return snapshots.DataVolume(
            claim=self.claim,
            read_only=read_only,
            privileged=await self.privileged(),
            service_account=account if found else "default",
        )

    async def privileged(self) -> bool:
        """Return True when the namespace allows privileged movers; False when it does not, or
        when the user may not read Namespaces (the Job then runs unprivileged)."""
        try:
            space = await self.kube.get(client.Kind.NAMESPACE, self.namespace)
        except errors.KubeError:
            return False
        annotations = ((space or {}).get("metadata") or {}).get("annotations") or {}
        return str(annotations.get(metadata.PRIVILEGED_MOVERS_ANNOTATION, "")).lower() == "true"

    async def run(
        self,
        operation: contract.Operation,
        environment: dict[str, str],
        *,
        data: snapshots.DataVolume | None,
        action: str,
    ) -> tuple[str, list[contract.MoverResult]]:
        """Run one mover operation in a short Job; return its log and results."""
        job = await snapshots.prepared_job(
            self.kube, self.obj, self.options, operation=operation, environment=environment,
            data=data,
        )  # fmt: skip
        return await snapshots.run_job(
            self.kube, job, timeout=self.options.timeout, owner=self.name, action=action
        )

    async def planned(
        self, paths: Sequence[str], *, snapshot: str, as_of: str | None
    ) -> tuple[str, list[contract.TreeEntry]]:
        """Check the paths in the snapshot without touching anything; return the snapshot's
        full ID and the entries that would be restored."""
        environment = {
            contract.EnvVar.PATHS.value: json.dumps(list(paths)),
            contract.EnvVar.DRY_RUN.value: "true",
            contract.EnvVar.SNAPSHOT.value: snapshot,
            contract.EnvVar.AS_OF.value: as_of or "",
        }
        log, _ = await self.run(
            contract.Operation.RESTORE_PATHS, environment, data=None,
            action="the paths cannot be restored",
        )  # fmt: skip
        parsed = contract.parse_tree(log)
        if parsed is None:
            raise session.UserError("the paths cannot be restored: the Job printed no listing")
        entries, chosen = parsed
        return chosen, entries

    async def safety_copy(self) -> str:
        """Back up the volume as it is, pinned; return the snapshot ID ("" for an empty one)."""
        _, results = await self.run(
            contract.Operation.BACKUP,
            {contract.EnvVar.PIN_BACKUP.value: "true"},
            data=await self.data_volume(read_only=True),
            action="the safety copy could not be taken",
        )
        for result in results:
            if result.outcome is contract.Outcome.SOURCE_EMPTY:
                return ""
            if result.snapshot_id:
                return result.snapshot_id
        raise session.UserError("the safety copy could not be taken: the Job named no snapshot")

    async def put_back(self, paths: Sequence[str], snapshot: str, *, undoing: bool) -> None:
        """Make the paths what ``snapshot`` holds (undoing: remove those it lacks; "" is the
        empty volume, so every path is removed)."""
        environment = {contract.EnvVar.PATHS.value: json.dumps(list(paths))}
        operation = contract.Operation.RESTORE_PATHS
        if undoing and not snapshot:
            operation = contract.Operation.REMOVE_PATHS
        environment[contract.EnvVar.SNAPSHOT.value] = snapshot
        if undoing:
            environment[contract.EnvVar.ABSENT_REMOVED.value] = "true"
        await self.run(
            operation, environment, data=await self.data_volume(read_only=False),
            action="the paths could not be restored",
        )  # fmt: skip

    async def snapshot_class(self, method: str) -> str:
        """Return the VolumeSnapshotClass of the safety copy ("" for a backup): ``auto`` takes
        a VolumeSnapshot when a class can snapshot the PVC, ``snapshot`` insists on one."""
        if method == "backup":
            return ""
        claim = await self.kube.get(client.Kind.CLAIM, self.claim, namespace=self.namespace)
        try:
            storage_classes = await self.kube.list(client.Kind.STORAGE_CLASS)
            snapshot_classes = await self.kube.list(client.Kind.VOLUME_SNAPSHOT_CLASS)
        except errors.KubeError:
            storage_classes, snapshot_classes = [], []
        section = (self.obj.get("spec") or {}).get(session.engine_of(self.obj)) or {}
        found = inplace.snapshot_class(
            claim or {}, storage_classes=storage_classes, snapshot_classes=snapshot_classes,
            wanted=str(section.get("volumeSnapshotClassName") or ""),
        )  # fmt: skip
        if method == "snapshot" and not found:
            raise session.UserError(
                f"--safety-copy snapshot: no VolumeSnapshotClass can snapshot PVC {self.claim} "
                "(none for its storage class's driver, or you may not list them); use "
                "--safety-copy backup; nothing was changed"
            )
        return found

    async def take_volume_snapshot(self, journal: Journal) -> str:
        """Take the VolumeSnapshot safety copy (named after the restore's start, so a rerun
        finds the same one) and wait until it is ready; return its name."""
        name = f"{self.claim}-before-restore-{re.sub(r'[^0-9]', '', journal.started_at)}"
        claim = await self.kube.get(client.Kind.CLAIM, self.claim, namespace=self.namespace)
        await self.kube.create(
            inplace.volume_snapshot(
                claim or {"metadata": {"name": self.claim, "namespace": self.namespace}},
                name=name, class_name=journal.volume_snapshot_class,
            )
        )  # fmt: skip

        def not_ready(problem: str) -> str:
            return (
                f"the safety copy could not be taken: VolumeSnapshot {name} is not ready "
                f"({problem}); pass --safety-copy backup to take a backup instead"
            )

        async def ready() -> str | None:
            found = await self.kube.get(client.Kind.VOLUME_SNAPSHOT, name, namespace=self.namespace)
            state = (found or {}).get("status") or {}
            problem = (state.get("error") or {}).get("message")
            if problem:
                raise session.UserError(not_ready(problem))
            return name if state.get("readyToUse") else None

        return await session.poll(
            ready,
            timeout=self.options.timeout,
            timed_out=lambda: not_ready(f"after {self.options.timeout:g} s"),
        )

    async def put_back_from_volume_snapshot(self, journal: Journal) -> None:
        """Put the paths back from a volume made from the VolumeSnapshot safety copy (mounted
        read-only beside the PVC); delete that volume afterwards."""
        claim = await self.kube.get(client.Kind.CLAIM, self.claim, namespace=self.namespace)
        clone = inplace.clone_claim(
            claim or {}, name=journal.volume_snapshot, volume_snapshot=journal.volume_snapshot
        )
        await self.kube.create(clone)
        environment = {
            contract.EnvVar.PATHS.value: json.dumps(list(journal.paths)),
            contract.EnvVar.FROM_FOLDER.value: BEFORE_MOUNT,
            contract.EnvVar.ABSENT_REMOVED.value: "true",
        }
        job = await snapshots.prepared_job(
            self.kube, self.obj, self.options, operation=contract.Operation.RESTORE_PATHS,
            environment=environment, data=await self.data_volume(read_only=False),
        )  # fmt: skip
        pod = job["spec"]["template"]["spec"]
        pod["volumes"].append(
            {"name": "before", "persistentVolumeClaim": {"claimName": journal.volume_snapshot,
                                                         "readOnly": True}}
        )  # fmt: skip
        pod["containers"][0]["volumeMounts"].append(
            {"name": "before", "mountPath": BEFORE_MOUNT, "readOnly": True}
        )
        await snapshots.run_job(
            self.kube, job, timeout=self.options.timeout, owner=self.name,
            action="the paths could not be put back",
        )  # fmt: skip
        await self.kube.delete(client.Kind.CLAIM, journal.volume_snapshot, namespace=self.namespace)

    def stopped_warning(self, journal: Journal) -> str:
        """Say that the app stays stopped, and what to run."""
        stopped = ", ".join(str(item) for item in journal.workloads) or "no workload"
        return (
            f"the app stays stopped ({stopped} at 0 replicas) because the volume was partly "
            f"written: run the same command again to finish, or `pyvolsync undo {self.named}` "
            "to put the paths back as they were"
        )


async def finish_restore(step: InPlace, journal: Journal) -> Journal:
    """Take the journal's restore from its phase to the end; return the final journal."""
    if journal.phase is Phase.STOPPING:
        await step.scale(journal.workloads, stopping=True)
        await step.wait_until_unmounted()
        journal = await _written(step, journal.at(Phase.STOPPED))
    if journal.phase is Phase.STOPPED:
        try:
            taken = await _safety_copy(step, journal)
        except session.UserError as error:
            await step.scale(journal.workloads, stopping=False)
            await step.write(None)
            raise session.UserError(
                f"{error}; nothing was changed and the app was started again"
            ) from None
        journal = await _written(step, taken)
    if journal.phase is Phase.SAFETY_COPIED:
        try:
            await step.put_back(journal.paths, journal.snapshot, undoing=False)
        except session.UserError as error:
            raise session.UserError(f"{error}; {step.stopped_warning(journal)}") from None
        journal = await _written(step, journal.at(Phase.RESTORED))
    if journal.phase is Phase.RESTORED:
        await step.scale(journal.workloads, stopping=False)
        journal = await _written(step, journal.at(Phase.DONE))
    return journal


async def finish_undo(step: InPlace, journal: Journal) -> Journal:
    """Take the journal's undo from its phase to the end; return the final journal."""
    if journal.phase is Phase.UNDOING:
        await step.scale(journal.workloads, stopping=True)
        await step.wait_until_unmounted()
        try:
            if journal.volume_snapshot:
                await step.put_back_from_volume_snapshot(journal)
            else:
                await step.put_back(journal.paths, journal.safety_copy, undoing=True)
        except session.UserError as error:
            raise session.UserError(f"{error}; {step.stopped_warning(journal)}") from None
        await step.scale(journal.workloads, stopping=False)
        journal = await _written(step, journal.at(Phase.UNDONE))
    return journal


async def _safety_copy(step: InPlace, journal: Journal) -> Journal:
    """Take the safety copy the journal asks for; return the journal that records it."""
    if journal.volume_snapshot_class:
        name = await step.take_volume_snapshot(journal)
        step.console.print(f"safety copy: VolumeSnapshot {name} is ready", highlight=False)
        return journal.at(Phase.SAFETY_COPIED, volume_snapshot=name)
    safety = await step.safety_copy()
    step.console.print(_safety_said(safety), highlight=False)
    return journal.at(Phase.SAFETY_COPIED, safety_copy=safety)


async def _written(step: InPlace, journal: Journal) -> Journal:
    await step.write(journal)
    return journal


def safety_named(journal: Journal) -> str:
    """Name the journal's safety copy."""
    if journal.volume_snapshot:
        return f"VolumeSnapshot {journal.volume_snapshot}"
    if journal.safety_copy:
        return f"the pinned backup {journal.safety_copy[: views.SHORT_ID_LENGTH]}"
    return "nothing: the volume was empty"


def _safety_said(safety: str) -> str:
    if not safety:
        return "the volume was empty: no safety copy is needed (undo removes the paths)"
    return f"safety copy {safety[: views.SHORT_ID_LENGTH]} taken and pinned"


def described_plan(
    step: InPlace,
    entries: Sequence[contract.TreeEntry],
    snapshot: str,
    *,
    stops: str,
    snapshot_class: str,
) -> str:
    """Say exactly what the restore will do."""
    listed = "\n".join(
        f"  {entry.path} ({entry.type}"
        + (f", {views.size(entry.size)})" if entry.type == "file" else ")")
        for entry in entries
    )
    return (
        f"In-place restore into PVC {step.namespace}/{step.claim} from snapshot "
        f"{snapshot[: views.SHORT_ID_LENGTH]}:\n{listed}\n"
        f"It will {stops}, take a safety copy of the volume ({_copy_kind(snapshot_class)}), "
        "replace those paths (every other file stays as it is) and start the workloads again."
    )


def _copy_kind(snapshot_class: str) -> str:
    if snapshot_class:
        return f"a VolumeSnapshot of class {snapshot_class}"
    return "a pinned backup"


def _stops(workloads: Sequence[inplace.Workload], *, no_stop: bool) -> str:
    if no_stop:
        return "not stop anything (--no-stop: the app keeps writing meanwhile)"
    if not workloads:
        return "stop nothing (no workload mounts the PVC)"
    return "stop " + ", ".join(str(item) for item in workloads)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """An in-place restore checked and planned, nothing changed yet: what it will do."""

    snapshot: str
    entries: tuple[contract.TreeEntry, ...]
    workloads: tuple[inplace.Workload, ...]
    snapshot_class: str
    stops: str

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(entry.path for entry in self.entries)

    def started(self, step: InPlace) -> Journal:
        """Return the journal of this restore at its first step."""
        return Journal(
            source=step.name,
            snapshot=self.snapshot,
            paths=self.paths,
            phase=Phase.STOPPING,
            workloads=self.workloads,
            volume_snapshot_class=self.snapshot_class,
            started_at=_now(),
        )


async def prepare_restore(
    step: InPlace,
    paths: Sequence[str],
    *,
    snapshot: str,
    as_of: str | None,
    no_stop: bool,
    safety: str = "auto",
) -> Prepared:
    """Check everything an in-place restore of ``paths`` needs, change nothing; return its
    plan (raise UserError saying what stands in the way)."""
    chosen, entries = await step.planned(paths, snapshot=snapshot, as_of=as_of)
    discovery = await step.discover()
    if discovery.blockers and not no_stop:
        raise session.UserError(
            "; ".join(discovery.blockers) + ": pyvolsync stops Deployments and StatefulSets "
            "only; stop it yourself, or pass --no-stop to restore while it runs; nothing was "
            "changed"
        )
    workloads = () if no_stop else tuple(discovery.workloads)
    await step.check_permissions(workloads)
    snapshot_class = await step.snapshot_class(safety)
    return Prepared(
        snapshot=chosen, entries=tuple(entries), workloads=workloads,
        snapshot_class=snapshot_class, stops=_stops(workloads, no_stop=no_stop),
    )  # fmt: skip


async def start_restore(step: InPlace, prepared: Prepared) -> Journal:
    """Carry out a prepared restore from its first step; return the final journal."""
    started = prepared.started(step)
    await step.write(started)
    return await finish_restore(step, started)


async def restore_in_place(
    step: InPlace,
    paths: Sequence[str],
    *,
    snapshot: str,
    as_of: str | None,
    no_stop: bool,
    yes: bool,
    safety: str = "auto",
) -> Journal:
    """Restore ``paths`` in place, or finish the unfinished restore the journal records."""
    journal = await step.journal()
    if journal is not None and not journal.phase.finished:
        return await resume(step, journal, paths)
    prepared = await prepare_restore(
        step, paths, snapshot=snapshot, as_of=as_of, no_stop=no_stop, safety=safety
    )
    step.console.print(
        described_plan(
            step, prepared.entries, prepared.snapshot, stops=prepared.stops,
            snapshot_class=prepared.snapshot_class,
        ),
        highlight=False,
    )  # fmt: skip
    session.confirm("Go on?", yes=yes)
    return await start_restore(step, prepared)


async def resume(step: InPlace, journal: Journal, paths: Sequence[str]) -> Journal:
    if journal.phase in (Phase.UNDOING,):
        raise session.UserError(
            f"an undo of PVC {step.claim} is unfinished: run `pyvolsync undo {step.named}` "
            "again to finish it"
        )
    try:
        wanted = tuple(contract.snapshot_path(path) for path in paths)
    except ValueError as error:
        raise session.UserError(f"--path {error}") from None
    if set(wanted) != set(journal.paths):
        raise session.UserError(
            f"an in-place restore of {', '.join(journal.paths)} into PVC {step.claim} (started "
            f"{journal.started_at}) is unfinished at step {journal.phase}: rerun it with those "
            f"paths to finish it, or `pyvolsync undo {step.named}` to roll it back"
        )
    step.console.print(
        f"finishing the in-place restore started at {journal.started_at} (it stopped at step "
        f"{journal.phase})",
        highlight=False,
    )
    return await finish_restore(step, journal)


async def prepare_undo(step: InPlace, journal: Journal) -> tuple[tuple[inplace.Workload, ...], str]:
    """Check what the undo of a finished restore needs, change nothing; return the workloads
    it stops meanwhile and what it will do."""
    discovery = await step.discover()
    if discovery.blockers:
        raise session.UserError("; ".join(discovery.blockers) + "; nothing was changed")
    await step.check_permissions(discovery.workloads)
    said = (
        f"Undo puts {', '.join(journal.paths)} back as they were before the restore of "
        f"{journal.started_at} (from {safety_named(journal)}); it will "
        f"{_stops(discovery.workloads, no_stop=False)} meanwhile."
    )
    return tuple(discovery.workloads), said


async def undo(step: InPlace, *, yes: bool) -> Journal:
    """Put the paths of the last in-place restore back from its safety copy."""
    journal = await step.journal()
    if journal is None:
        raise session.UserError(
            f"PVC {step.namespace}/{step.claim} has no in-place restore to undo"
        )
    if journal.phase is Phase.UNDONE:
        raise session.UserError(
            f"the in-place restore of {', '.join(journal.paths)} was undone already"
        )
    if journal.phase.volume_untouched:
        await step.scale(journal.workloads, stopping=False)
        await step.write(None)
        step.console.print("the volume had not been written: the app was started again")
        return journal
    if journal.phase is Phase.DONE:
        workloads, said = await prepare_undo(step, journal)
        step.console.print(said, highlight=False)
        session.confirm("Go on?", yes=yes)
        journal = journal.at(Phase.UNDOING, workloads=workloads)
    elif journal.phase is not Phase.UNDOING:
        journal = journal.at(Phase.UNDOING)
    await step.write(journal)
    return await finish_undo(step, journal)
