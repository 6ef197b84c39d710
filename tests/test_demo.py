"""``make demo`` end to end: the real mover and restic back up, restore and verify sample data.

The demo is the README's main command, so this runs it exactly as a user does (``python -m demo``
from the repository root) and checks what the user reads: that it says every check passed, and
that the summary agrees. A second test gives it a mover that claims success but restores the
wrong data, which real restic cannot be made to do, to show that the demo's verification catches
it and the exit code says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]

LYING_MOVER = textwrap.dedent(
    """\
    #!{python}
    import json, os, pathlib, sys
    data = pathlib.Path(os.environ["DATA_DIR"])
    if sys.argv[-1] == "restore":
        (data / "only-file").write_text("not your data")
    document = {{"outcome": "succeeded", "snapshot_id": "0123456789abcdef", "files_new": 1}}
    pathlib.Path(os.environ["PYVOLSYNC_RESULT_PATH"]).write_text(json.dumps(document))
    """
)


def run_demo(tmp_path: Path, *, path: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    summary = tmp_path / "summary.json"
    completed = subprocess.run(
        [sys.executable, "-m", "demo", "--local", "--summary-json", str(summary)],
        cwd=ROOT,
        env={**os.environ, "PATH": path, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return completed, json.loads(summary.read_text())


def test_the_demo_backs_up_restores_and_verifies_every_byte(tmp_path: Path) -> None:
    completed, summary = run_demo(tmp_path, path=os.environ["PATH"])

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "All 7 checks passed" in completed.stdout
    assert summary["passed"] is True
    checks = {check["name"]: check["passed"] for check in summary["checks"]}
    assert checks == {
        "every mover run succeeded": True,
        "latest restore = volume now": True,
        "previous restore = volume before": True,
        "previous → latest = the change": True,
        "incremental stored only the change": True,
        "restores chose the right snapshots": True,
        "password kept secret": True,
    }
    steps = {step["name"]: step for step in summary["steps"]}
    assert list(steps) == [
        "full backup",
        "incremental backup",
        "restore latest",
        "restore previous",
    ]
    assert all(step["exit_code"] == 0 for step in steps.values())
    assert steps["full backup"]["result"]["files_new"] > 250
    full, incremental = steps["full backup"]["result"], steps["incremental backup"]["result"]
    assert full["snapshot_id"] != incremental["snapshot_id"]
    assert steps["restore previous"]["result"]["snapshot_id"] == full["snapshot_id"]
    assert not list(tmp_path.glob("pyvolsync-demo-*")), "the demo removes its work directory"


def test_a_restore_that_differs_fails_the_demo(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "pyvolsync-mover"
    fake.parent.mkdir()
    fake.write_text(LYING_MOVER.format(python=sys.executable))
    fake.chmod(0o755)

    completed, summary = run_demo(tmp_path, path=f"{fake.parent}{os.pathsep}{os.environ['PATH']}")

    assert completed.returncode == 1
    assert "checks failed" in completed.stdout
    checks = {check["name"]: check for check in summary["checks"]}
    assert checks["every mover run succeeded"]["passed"] is True
    assert checks["latest restore = volume now"]["passed"] is False
    assert "only-file" in checks["latest restore = volume now"]["detail"]
    assert checks["previous → latest = the change"]["passed"] is False
