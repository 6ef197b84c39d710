"""The operator <-> mover contract: results round-trip, fit 4 KiB and parse leniently."""

import base64
import hashlib
import json
import re

import pytest

from pyvolsync import contract


def _backup_result(**overrides: object) -> contract.MoverResult:
    operation = contract.OperationResult(
        operation=contract.Operation.BACKUP,
        outcome=contract.Outcome.SUCCEEDED_WITH_WARNINGS,
        snapshot_id="1a2b3c4d" * 8,
        files_new=3,
        bytes_added=4096,
        warnings=("cannot read /data/secret",),
    )
    values: dict[str, object] = {
        "outcome": contract.Outcome.SUCCEEDED_WITH_WARNINGS,
        "restic_version": "0.18.1",
        "snapshot_id": operation.snapshot_id,
        "files_new": 3,
        "bytes_added": 4096,
        "warnings": operation.warnings,
        "operations": (operation,),
    }
    values.update(overrides)
    return contract.MoverResult(**values)  # type: ignore[arg-type]


def test_result_round_trips_through_json() -> None:
    result = _backup_result()

    assert contract.MoverResult.from_json(result.to_json()) == result


def test_result_document_uses_the_documented_field_names() -> None:
    document = json.loads(_backup_result().to_json())

    assert document["schema_version"] == contract.SCHEMA_VERSION
    assert document["outcome"] == "succeeded-with-warnings"
    assert document["error_kind"] is None
    assert document["operations"][0]["operation"] == "backup"
    assert document["operations"][0]["snapshot_id"] == "1a2b3c4d" * 8


def test_unknown_fields_and_bad_values_are_ignored() -> None:
    document = json.loads(_backup_result().to_json())
    document["from_a_newer_mover"] = {"nested": True}
    document["files_new"] = "three"
    document["error_kind"] = "a-kind-from-the-future"
    document["operations"].append({"operation": "teleport", "outcome": "succeeded"})

    parsed = contract.MoverResult.from_json(json.dumps(document))

    assert parsed.files_new == 0
    assert parsed.error_kind is None
    assert [item.operation for item in parsed.operations] == [contract.Operation.BACKUP]


@pytest.mark.parametrize("text", ["", "[]", '{"outcome": "exploded"}', "{not json"])
def test_a_document_that_is_not_a_result_is_rejected(text: str) -> None:
    with pytest.raises(contract.ResultDocumentError):
        contract.MoverResult.from_json(text)


def test_many_long_warnings_are_cut_to_fit_and_counted() -> None:
    warnings = tuple(f"cannot read /data/{'x' * 300}/{number}" for number in range(200))
    result = _backup_result(warnings=warnings, message="m" * 5000)

    text = result.to_json()
    parsed = contract.MoverResult.from_json(text)

    assert len(text.encode()) <= contract.TERMINATION_MESSAGE_LIMIT
    assert parsed.warnings[-1].endswith("more warnings")
    assert parsed.snapshot_id == result.snapshot_id
    assert parsed.outcome is contract.Outcome.SUCCEEDED_WITH_WARNINGS


def test_multibyte_text_is_measured_in_bytes() -> None:
    result = _backup_result(warnings=tuple("ファイル" * 100 for _ in range(20)))

    assert len(result.to_json().encode()) <= contract.TERMINATION_MESSAGE_LIMIT


def test_even_a_tiny_limit_gives_valid_json_with_the_outcome() -> None:
    result = _backup_result(outcome=contract.Outcome.FAILED, error_kind=contract.ErrorKind.NO_SPACE)

    parsed = contract.MoverResult.from_json(result.to_json(limit=200))

    assert parsed.outcome is contract.Outcome.FAILED
    assert parsed.error_kind is contract.ErrorKind.NO_SPACE


def test_redacted_masks_every_free_text() -> None:
    result = _backup_result(message="password hunter2 rejected")

    redacted = result.redacted(lambda text: text.replace("secret", "***").replace("hunter2", "***"))

    assert "hunter2" not in redacted.to_json()
    assert "secret" not in redacted.to_json()


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (contract.ErrorKind.INVALID_CONFIGURATION, contract.ExitCode.INVALID_CONFIGURATION),
        (contract.ErrorKind.REPOSITORY_LOCKED, contract.ExitCode.REPOSITORY),
        (contract.ErrorKind.WRONG_PASSWORD, contract.ExitCode.WRONG_PASSWORD),
        (contract.ErrorKind.REPOSITORY_MISSING, contract.ExitCode.REPOSITORY_MISSING),
        (contract.ErrorKind.CANCELLED, contract.ExitCode.CANCELLED),
        (contract.ErrorKind.NO_SPACE, contract.ExitCode.NOT_RETRIABLE),
        (contract.ErrorKind.REPOSITORY_DAMAGED, contract.ExitCode.NOT_RETRIABLE),
        (contract.ErrorKind.REPOSITORY_READ_ONLY, contract.ExitCode.NOT_RETRIABLE),
        (contract.ErrorKind.VERIFY_FAILED, contract.ExitCode.NOT_RETRIABLE),
    ],
)
def test_failed_results_map_to_exit_codes(
    kind: contract.ErrorKind, code: contract.ExitCode
) -> None:
    result = contract.MoverResult(outcome=contract.Outcome.FAILED, error_kind=kind)

    assert result.exit_code is code


@pytest.mark.parametrize(
    "outcome",
    [contract.Outcome.SOURCE_EMPTY, contract.Outcome.NO_ELIGIBLE_SNAPSHOT],
)
def test_empty_outcomes_exit_zero(outcome: contract.Outcome) -> None:
    assert contract.MoverResult(outcome=outcome).exit_code is contract.ExitCode.OK


def test_retriable_kinds_are_the_ones_time_can_fix() -> None:
    retriable = {kind for kind in contract.ErrorKind if kind.retriable}

    assert retriable == {
        contract.ErrorKind.REPOSITORY_LOCKED,
        contract.ErrorKind.REPOSITORY_UNREACHABLE,
        contract.ErrorKind.RESTIC_FAILED,
        contract.ErrorKind.KOPIA_FAILED,
        contract.ErrorKind.ACTION_FAILED,
        contract.ErrorKind.CANCELLED,
    }


def test_a_maintenance_owner_mismatch_fails_the_job_at_once() -> None:
    kind = contract.ErrorKind.MAINTENANCE_NOT_OWNER

    assert (kind.retriable, kind.exit_code) == (False, contract.ExitCode.NOT_RETRIABLE)


def test_progress_lines_printed_by_the_mover_parse_back() -> None:
    from pyvolsync.inpod import progress

    status = progress.Status(
        fraction=0.4217,
        bytes_done=3 * 1024 * 1024 + 512 * 1024,
        bytes_total=8 * 1024 * 1024,
        files_done=12,
        files_total=100,
        seconds_remaining=3725,
    )
    parsed = contract.parse_progress("12:00:01 " + progress.format_status("backup", status))
    assert parsed == contract.Progress(
        operation="backup",
        percent=42.2,
        bytes_done=3 * 1024 * 1024 + 512 * 1024,
        bytes_total=8 * 1024 * 1024,
        files_done=12,
        files_total=100,
        eta_seconds=3725,
    )


def test_other_lines_are_not_progress() -> None:
    assert contract.parse_progress("snapshot 1a2b3c4d saved") is None
    line = "restore: 5.0% done, 0 B of 0 B, 0 of 0 files, ETA unknown"
    parsed = contract.parse_progress(line)
    assert parsed is not None
    assert parsed.eta_seconds is None


def _entry(identifier: str, time: str) -> contract.CatalogEntry:
    return contract.CatalogEntry(id=identifier, time=time)


def test_a_snapshot_is_found_by_a_unique_prefix_in_any_case() -> None:
    entries = [_entry("ab12cd34ef", "2026-01-01T10:00:00Z"), _entry("ab99", "2026-01-02T10:00:00Z")]

    assert contract.find_entry(entries, " AB12 ").id == "ab12cd34ef"


@pytest.mark.parametrize(
    ("wanted", "message"),
    [
        ("ab", "'ab' is not a snapshot ID: give at least 4"),
        ("ab1z", "'ab1z' is not a snapshot ID"),
        ("abcd", "'abcd' is ambiguous: it begins abcd0001 (2026-01-01T10:00:00Z), abcd0002"),
        ("ffff", "no snapshot ID begins with 'ffff'; the newest are abcd0002 (2026-01-02"),
    ],
)
def test_an_id_that_names_no_snapshot_or_several_says_which(wanted: str, message: str) -> None:
    entries = [
        _entry("abcd0001", "2026-01-01T10:00:00Z"),
        _entry("abcd0002", "2026-01-02T10:00:00Z"),
    ]

    with pytest.raises(contract.SnapshotNotFoundError, match=re.escape(message)):
        contract.find_entry(entries, wanted)


def test_an_empty_catalog_says_there_are_no_snapshots() -> None:
    with pytest.raises(contract.SnapshotNotFoundError, match=r"; there are no snapshots$"):
        contract.find_entry([], "abcd")


def _stream_lines(data: bytes) -> list[str]:
    chunks = [data[start : start + 5] for start in range(0, len(data), 5)]
    return [
        json.dumps({contract.STREAM_KEY: {"path": "/a", "archive": False}}),
        "a log line in between is left alone",
        *(contract.STREAM_DATA_PREFIX + base64.b64encode(chunk).decode() for chunk in chunks),
        json.dumps(
            {
                contract.STREAM_END_KEY: {
                    "bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            }
        ),
    ]


def test_a_stream_is_decoded_and_checked_against_its_trailer() -> None:
    received: list[bytes] = []

    headers = contract.read_streams(
        _stream_lines(b"hello, world\n"), lambda header: received.append
    )

    assert b"".join(received) == b"hello, world\n"
    assert headers == [contract.StreamHeader(path="/a", archive=False)]


def test_a_lost_chunk_or_a_cut_stream_is_an_error() -> None:
    lines = _stream_lines(b"hello, world\n")

    with pytest.raises(contract.StreamError, match="the download is incomplete"):
        contract.read_streams(lines[:3] + lines[4:], lambda header: lambda data: None)
    with pytest.raises(contract.StreamError, match="cut short after 10 bytes"):
        contract.read_streams(lines[:-2], lambda header: lambda data: None)
