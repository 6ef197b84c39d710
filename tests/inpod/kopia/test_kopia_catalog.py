"""``pyvolsync-mover kopia snapshots``: the identity's snapshots as the catalog line, read-only."""

from __future__ import annotations

from tests.inpod.kopia import kopia_support

from pyvolsync import contract


def test_the_catalog_lists_the_identitys_snapshots_with_sizes_and_pins(
    workspace: kopia_support.Workspace,
) -> None:
    (workspace.data / "a.bin").write_bytes(b"x" * 5000)
    (workspace.data / "b.txt").write_text("hello")
    first = workspace.mover("backup").result.snapshot_id
    (workspace.data / "c.txt").write_text("more")
    second = workspace.mover("backup").result.snapshot_id
    workspace.kopia("snapshot", "pin", "--add=keep", first)  # a pin rewrites its manifest (new ID)
    other = workspace.snapshot_at(
        "2024-01-01 10:00:00 UTC", source=f"someone@else:{workspace.data}"
    )

    run = workspace.mover("snapshots")

    assert run.returncode == 0, run
    entries = contract.parse_catalog(run.output)
    assert entries is not None, run.output
    assert len(entries) == 2 and entries[-1].id == second
    assert other not in run.output, "another identity's snapshots are not this one's catalog"
    newest = entries[-1]
    assert (newest.files, newest.size) == (3, 5000 + 5 + 4)
    assert newest.identity == f"app@ns:{workspace.data}"
    assert (newest.hostname, newest.paths) == ("ns", (str(workspace.data),))
    assert [entry.pinned for entry in entries] == [True, False]
    assert newest.time.endswith("Z") and len(newest.time) == len("2026-12-03T04:05:06Z")
    assert run.result.outcome is contract.Outcome.SUCCEEDED
    assert run.result.operations[0].snapshots_found == 2


def test_listing_a_missing_repository_names_it_and_creates_nothing(
    workspace: kopia_support.Workspace,
) -> None:
    run = workspace.mover("snapshots")

    assert run.result.error_kind is contract.ErrorKind.REPOSITORY_MISSING, run
    assert contract.parse_catalog(run.output) is None
    assert not workspace.repository.exists() or not any(workspace.repository.iterdir())
