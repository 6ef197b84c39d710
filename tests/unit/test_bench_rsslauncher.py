"""The launcher reports the wrapper's own peak memory: not restic's (a child), not its parent's."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

LAUNCHER = Path(__file__).parents[2] / "bench" / "rsslauncher.py"
MEGABYTE = 1_000_000

TARGETS = textwrap.dedent(
    """
    import resource
    import subprocess
    import sys

    def grow():
        block = bytearray(150 * 1000 * 1000)
        block[::4096] = b"x" * len(block[::4096])
        return 0

    def spawn():
        child = (
            "import resource; block = bytearray(200 * 1000 * 1000); "
            "block[::4096] = b'x' * len(block[::4096]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
        )
        print(subprocess.run([sys.executable, "-c", child], capture_output=True,
                             text=True, check=True).stdout.strip())
        return 0

    def returns_three():
        return 3

    def exits_four():
        print(sys.argv[0], sys.argv[1:])
        sys.exit(4)
    """
)


def launch(tmp_path: Path, function: str, *arguments: str) -> tuple[int, int, str]:
    """Run ``targets:function`` under the launcher; return exit code, reported bytes, stdout."""
    (tmp_path / "targets.py").write_text(TARGETS)
    report = tmp_path / "rss"
    completed = subprocess.run(
        [sys.executable, str(LAUNCHER), str(report), f"targets:{function}", "program", *arguments],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.returncode, int(report.read_text()) * 1024, completed.stdout


def test_memory_the_entry_point_itself_uses_is_reported(tmp_path: Path) -> None:
    status, peak, _ = launch(tmp_path, "grow")

    assert status == 0
    assert peak > 150 * MEGABYTE


def test_memory_of_a_child_process_is_not_counted(tmp_path: Path) -> None:
    status, peak, output = launch(tmp_path, "spawn")

    assert status == 0
    assert int(output) * 1024 > 200 * MEGABYTE, "the child really used its memory"
    assert peak < 60 * MEGABYTE


def test_memory_of_the_parent_is_not_counted(tmp_path: Path) -> None:
    """Linux carries ru_maxrss across fork and exec; the launcher must not report it."""
    parent = bytearray(200 * MEGABYTE)
    parent[::4096] = b"x" * len(parent[::4096])

    status, peak, _ = launch(tmp_path, "returns_three")

    assert status == 3
    assert peak < 60 * MEGABYTE
    del parent


@pytest.mark.parametrize(("function", "expected"), [("returns_three", 3), ("exits_four", 4)])
def test_the_exit_status_and_arguments_are_passed_through(
    tmp_path: Path, function: str, expected: int
) -> None:
    status, peak, output = launch(tmp_path, function, "restic", "backup")

    assert status == expected
    assert peak > 0
    if function == "exits_four":
        assert output.strip() == "program ['restic', 'backup']"
