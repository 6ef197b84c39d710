"""`make demo` tells the spec's story on a local cluster, start to end, leaving nothing running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_tells_the_whole_story() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "demo"],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    for line in (
        "Scenario B: deploy the new app",
        "bootstrap: RepositoryMissing",
        "first scheduled backup",
        "second scheduled backup (incremental)",
        "Scenario A: deploy the app again",
        "every checksum equal, version v2",
        "nothing left running",
    ):
        assert line in output, output
    leftovers = subprocess.run(
        ["pgrep", "-f", "pyvolsync-demo-"], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout.strip() == "", leftovers.stdout
