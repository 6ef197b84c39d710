"""verify, engine-neutral: walking the volume, the sample, the snapshot chosen, the messages."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from pyvolsync import contract
from pyvolsync.inpod import errors, guard, report, settings, verify

Outcome, Kind = contract.Outcome, contract.ErrorKind
SNAPSHOT = contract.CatalogEntry(id="0123abcd" * 8, time="2026-12-03T04:05:06Z")
PATHS = [f"/photos/{number:03}.jpg" for number in range(100)]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _volume(root: Path) -> dict[str, bytes]:
    """Write a small volume under ``root``; return its files' contents by path."""
    contents = {"/config/app.ini": b"[app]\nport = 80\n", "/db/data.sqlite": b"x" * 5000}
    for path, data in contents.items():
        (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / path.lstrip("/")).write_bytes(data)
    return contents


def _reader(contents: dict[str, bytes]) -> verify.Reader:
    return lambda path: _digest(contents[path]) if path in contents else None


def _verified(root: Path, contents: dict[str, bytes], **wanted: object) -> contract.OperationResult:
    record = guard.Figures(files=len(contents), bytes=sum(map(len, contents.values())))
    return verify.against_snapshot(
        data_dir=str(root),
        snapshot=SNAPSHOT,
        record=wanted.pop("record", record),  # type: ignore[arg-type]
        reader=_reader(contents),
        wanted=settings.Browsing(**wanted),  # type: ignore[arg-type]
    )


def test_the_sample_is_the_same_for_the_same_snapshot_whatever_the_order() -> None:
    first = verify.sample(PATHS, 10, seed=SNAPSHOT.id)

    assert verify.sample(reversed(PATHS), 10, seed=SNAPSHOT.id) == first
    assert len(first) == 10 and first == sorted(first) and set(first) <= set(PATHS)
    assert verify.sample(PATHS, 10, seed="fedc" * 16) != first, "another snapshot, another sample"


@pytest.mark.parametrize(("count", "expected"), [(0, 0), (3, 3), (500, 100)])
def test_the_sample_takes_at_most_what_there_is(count: int, expected: int) -> None:
    assert len(verify.sample(PATHS, count, seed=SNAPSHOT.id)) == expected


def test_the_tree_counts_regular_files_and_leaves_out_the_volumes_lost_and_found(
    tmp_path: Path,
) -> None:
    _volume(tmp_path)
    os.link(tmp_path / "db" / "data.sqlite", tmp_path / "db" / "hardlink")
    (tmp_path / "link").symlink_to("config/app.ini")
    (tmp_path / "lost+found").mkdir()
    (tmp_path / "lost+found" / "#12").write_text("fsck leftovers")
    (tmp_path / "db" / "lost+found").mkdir()
    (tmp_path / "db" / "lost+found" / "kept").write_text("an app's own folder")

    found = verify.tree(str(tmp_path))

    assert found == {
        "/config/app.ini": 16,
        "/db/data.sqlite": 5000,
        "/db/hardlink": 5000,
        "/db/lost+found/kept": 19,
    }


def test_a_restore_as_recorded_verifies_and_says_what_was_checked(tmp_path: Path) -> None:
    contents = _volume(tmp_path)

    result = _verified(tmp_path, contents, paths=("/config/app.ini",), verify_min_bytes=1000)

    assert result.outcome is Outcome.SUCCEEDED and result.error_kind is None
    assert (result.files_restored, result.bytes_restored, result.files_sampled) == (2, 5016, 2)
    assert result.verified == (
        "2 files and 4.9 KiB as the snapshot records; 2 files sampled, each matching the "
        "repository; 1 required paths present; at least 1000 B"
    )
    assert result.message == f"snapshot 0123abcd (2026-12-03T04:05:06Z) verified: {result.verified}"


def test_every_problem_is_named_in_one_line(tmp_path: Path) -> None:
    contents = _volume(tmp_path)
    (tmp_path / "db" / "data.sqlite").write_bytes(b"y" * 5000)
    (tmp_path / "stray.txt").write_text("was here before the restore")

    result = _verified(
        tmp_path,
        contents,
        paths=("/config/app.ini", "/logs", "/config/b.ini"),
        verify_min_bytes=10**6,
    )

    assert result.outcome is Outcome.FAILED and result.error_kind is Kind.VERIFY_FAILED
    assert "\n" not in result.message
    assert result.message.startswith(
        "the restore of snapshot 0123abcd (2026-12-03T04:05:06Z) did not verify: "
    )
    for problem in (
        "the volume holds 3 files where the snapshot records 2 (did the volume hold other files "
        "before the restore?)",
        "the volume's files hold 5043 bytes where the snapshot records 5016",
        "required paths missing: /logs, /config/b.ini",
        "the volume's files hold 4.9 KiB (5043 bytes), less than "
        "PYVOLSYNC_VERIFY_MIN_BYTES=1000000",
        "content differs from the snapshot (SHA-256): /db/data.sqlite",
        "not a file in the snapshot: /stray.txt",
    ):
        assert problem in result.message
    assert result.verified == ""


def test_a_sample_of_zero_compares_no_content(tmp_path: Path) -> None:
    contents = _volume(tmp_path)
    (tmp_path / "db" / "data.sqlite").write_bytes(b"y" * 5000)

    result = _verified(tmp_path, contents, verify_sample=0)

    assert result.outcome is Outcome.SUCCEEDED and result.files_sampled == 0
    assert "no content compared (PYVOLSYNC_VERIFY_SAMPLE=0)" in result.verified


def test_a_snapshot_without_counts_is_verified_with_a_warning(tmp_path: Path) -> None:
    contents = _volume(tmp_path)

    result = _verified(tmp_path, contents, record=None)

    assert result.outcome is Outcome.SUCCEEDED_WITH_WARNINGS
    assert result.warnings == (
        "snapshot 0123abcd (2026-12-03T04:05:06Z) records no file and byte counts (restic "
        "records them since 0.17): they were not compared",
    )
    assert result.verified.startswith("2 files and 4.9 KiB (the snapshot records no counts)")


def test_one_file_is_one_file(tmp_path: Path) -> None:
    (tmp_path / "only").write_text("x")

    result = verify.against_snapshot(
        data_dir=str(tmp_path),
        snapshot=SNAPSHOT,
        record=guard.Figures(files=2, bytes=1),
        reader=lambda path: _digest(b"x"),
        wanted=settings.Browsing(),
    )

    assert result.message.endswith(": the volume holds 1 file where the snapshot records 2")


ENTRIES = [
    contract.CatalogEntry(id="aaaa" * 16, time="2026-01-01T00:00:00Z"),
    contract.CatalogEntry(id="bbbb" * 16, time="2026-01-02T00:00:00Z"),
]


@pytest.mark.parametrize(
    ("restored", "named", "selected", "expected"),
    [
        (["bbbb" * 16, "aaaa" * 16], "bbbb", "bbbb" * 16, "aaaa" * 16),
        ([], "aaaa", "bbbb" * 16, "aaaa" * 16),
        ([], "", "bbbb" * 16, "bbbb" * 16),
        ([], "", "", None),
    ],
)
def test_the_snapshot_restored_in_the_run_comes_first_then_the_named_then_the_selected(
    restored: list[str], named: str, selected: str, expected: str | None
) -> None:
    found = verify.chosen(ENTRIES, restored=restored, named=named, selected=selected)

    assert (found.id if found else None) == expected


def test_a_snapshot_id_that_names_none_is_a_configuration_error() -> None:
    with pytest.raises(errors.ConfigurationError, match="no snapshot ID begins with 'cccc'"):
        verify.chosen(ENTRIES, restored=[], named="cccc", selected="")


def test_nothing_to_verify_fails_for_good() -> None:
    error = verify.nothing_to_verify("no snapshot of host volsync and path /data")

    assert error.kind is Kind.VERIFY_FAILED and isinstance(error, errors.PermanentError)
    assert error.message == "no snapshot of host volsync and path /data: there is nothing to verify"


@pytest.mark.parametrize(
    ("environ", "sample", "minimum"),
    [
        ({}, 20, 0),
        ({"PYVOLSYNC_VERIFY_SAMPLE": "0", "PYVOLSYNC_VERIFY_MIN_BYTES": "1048576"}, 0, 1048576),
    ],
)
def test_the_verify_settings_and_their_defaults(
    environ: dict[str, str], sample: int, minimum: int
) -> None:
    read = settings.browsing(environ)

    assert (read.verify_sample, read.verify_min_bytes) == (sample, minimum)


@pytest.mark.parametrize("name", ["PYVOLSYNC_VERIFY_SAMPLE", "PYVOLSYNC_VERIFY_MIN_BYTES"])
@pytest.mark.parametrize("value", ["-1", "20%", "1Gi", "²"])
def test_a_bad_verify_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(errors.ConfigurationError, match=f"{name}=.* must be a whole number >= 0"):
        settings.browsing({name: value})


def test_what_a_verify_after_a_restore_checked_reaches_the_top_of_the_result() -> None:
    restored = contract.OperationResult(
        operation=contract.Operation.RESTORE,
        outcome=Outcome.SUCCEEDED,
        snapshot_id="abc",
        files_restored=7,
    )
    verified = contract.OperationResult(
        operation=contract.Operation.VERIFY,
        outcome=Outcome.SUCCEEDED,
        snapshot_id="abc",
        files_restored=9,
        files_sampled=5,
        verified="9 files and 1.0 KiB as the snapshot records",
    )

    result = report.summarize(
        [restored, verified],
        engine="restic",
        engine_version="0.18.1",
        started_at="",
        duration_seconds=1,
    )

    assert (result.snapshot_id, result.files_restored) == ("abc", 7)
    assert (result.files_sampled, result.verified) == (5, verified.verified)
    parsed = contract.MoverResult.from_json(result.to_json())
    assert parsed.verified == verified.verified and parsed.operations[1].files_sampled == 5
