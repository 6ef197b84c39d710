"""``pyvolsync-mover restic snapshots``: the repository's snapshots as the catalog line."""

from __future__ import annotations

from pathlib import Path

from tests.inpod.restic import mover_support

from pyvolsync import contract


def test_the_catalog_lists_every_sources_snapshots_with_their_counters(
    tmp_path: Path, restic_dir: Path
) -> None:
    space = mover_support.Workspace(tmp_path, restic_dir)
    space.restic("init")
    (space.data / "a.bin").write_bytes(b"x" * 5000)
    upstream = space.backup_at("2024-01-01 10:00:00")  # as upstream writes it: no source tag
    (space.data / "b.txt").write_text("hello")
    ours = space.mover("backup", PYVOLSYNC_SOURCE="team/app").result.snapshot_id

    run = space.mover("snapshots")

    assert run.returncode == 0, run
    entries = contract.parse_catalog(run.output)
    assert entries is not None, run.output
    assert [entry.id for entry in entries] == [upstream, ours]
    assert entries[0].time.startswith("2024-01-01T") and entries[0].time.endswith(":00:00Z")
    assert entries[0].identity == "" and entries[1].identity == "team/app"
    assert (entries[1].files, entries[1].size) == (2, 5005)
    assert entries[1].added is not None and entries[1].added > 0
    assert all(
        entry.hostname == "volsync" and entry.paths == (str(space.data),) for entry in entries
    )
    assert run.result.operations[0].snapshots_found == 2


def test_listing_a_missing_repository_names_it_and_creates_nothing(
    tmp_path: Path, restic_dir: Path
) -> None:
    space = mover_support.Workspace(tmp_path, restic_dir)

    run = space.mover("snapshots")

    assert run.result.error_kind is contract.ErrorKind.REPOSITORY_MISSING, run
    assert contract.parse_catalog(run.output) is None
    assert not space.repository.exists()
