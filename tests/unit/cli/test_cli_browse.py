"""The pure parts of `pyvolsync ls|cat|download|find|diff`: the Job's settings, names shown,
and a tar archive extracted while it arrives."""

import io
import pathlib
import tarfile

import pytest

from pyvolsync import contract
from pyvolsync.cli import browse, session


def test_the_job_reads_only_what_was_given() -> None:
    assert browse.environment(snapshot="abcd", paths=("/a b", "/c")) == {
        "PYVOLSYNC_SNAPSHOT": "abcd",
        "PYVOLSYNC_PATHS": '["/a b", "/c"]',
    }
    assert browse.environment(as_of="2026-11-25T03:00:00Z", pattern="*.db") == {
        "PYVOLSYNC_AS_OF": "2026-11-25T03:00:00Z",
        "PYVOLSYNC_PATTERN": "*.db",
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"snapshot": "abcd", "as_of": "2026-11-25T03:00:00Z"}, "not both"),
        ({"as_of": "yesterday"}, "is not an RFC 3339 time"),
    ],
)
def test_contradictory_or_malformed_choices_are_refused(
    arguments: dict[str, str], message: str
) -> None:
    with pytest.raises(session.UserError, match=message):
        browse.environment(**arguments)


def test_control_characters_in_names_are_shown_escaped() -> None:
    assert browse.display_name("/line\nbreak\t.txt") == "/line\\nbreak\\t.txt"
    assert browse.display_name("/ünïcødé 文件.txt") == "/ünïcødé 文件.txt"


def _archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = b"x" * 100_000
        info = tarfile.TarInfo("folder/file.bin")
        info.size, info.mode, info.mtime = len(data), 0o640, 1_600_000_000
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_an_archive_is_extracted_while_it_arrives_in_pieces(tmp_path: pathlib.Path) -> None:
    extraction = contract.TarExtraction(str(tmp_path))
    data = _archive()
    for start in range(0, len(data), 7000):
        extraction.write(data[start : start + 7000])
    extraction.close()

    extracted = tmp_path / "folder" / "file.bin"
    assert extracted.read_bytes() == b"x" * 100_000
    assert (extracted.stat().st_mode & 0o777, int(extracted.stat().st_mtime)) == (
        0o640,
        1_600_000_000,
    )


def test_an_archive_that_is_not_one_is_reported(tmp_path: pathlib.Path) -> None:
    extraction = contract.TarExtraction(str(tmp_path))

    with pytest.raises(contract.StreamError, match="could not be extracted"):
        extraction.write(b"not a tar archive" * 100)
        extraction.close()


def _member(name: str, mode: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size, info.mode = 2, mode
        archive.addfile(info, io.BytesIO(b"ok"))
    return buffer.getvalue()


def test_a_download_drops_group_write_and_an_exact_extraction_keeps_it(
    tmp_path: pathlib.Path,
) -> None:
    for folder, exact in (("download", False), ("exact", True)):
        (tmp_path / folder).mkdir()
        extraction = contract.TarExtraction(str(tmp_path / folder), exact=exact)
        extraction.write(_member("shared.txt", 0o664))
        extraction.close()

    modes = {folder: (tmp_path / folder / "shared.txt").stat().st_mode & 0o777
             for folder in ("download", "exact")}  # fmt: skip
    assert modes == {"download": 0o644, "exact": 0o664}


def test_an_exact_extraction_refuses_a_member_that_leaves_the_folder(
    tmp_path: pathlib.Path,
) -> None:
    (tmp_path / "inside").mkdir()
    extraction = contract.TarExtraction(str(tmp_path / "inside"), exact=True)

    with pytest.raises(contract.StreamError, match="could not be extracted"):
        extraction.write(_member("../escaped.txt", 0o644))
        extraction.close()
    assert not (tmp_path / "escaped.txt").exists()
