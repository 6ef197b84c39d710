"""The facts about the machine that a benchmark figure means nothing without.

A ratio measured on a loaded 2-core VM and one from an idle workstation are different claims,
so every result records the CPU, memory, kernel, tool versions and the load around the run.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def describe(*, restic: str) -> dict[str, Any]:
    """Return the machine's description, with the version of the given restic executable."""
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "restic": restic_version(restic),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def cpu_model() -> str:
    """Return the CPU's model name from /proc/cpuinfo (or the platform's processor string)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_bytes() -> int:
    """Return the total memory from /proc/meminfo, or 0 when it cannot be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def restic_version(restic: str) -> str:
    """Return the first line of ``restic version``."""
    completed = subprocess.run(
        [restic, "version"], capture_output=True, text=True, check=True, timeout=60
    )
    return completed.stdout.strip().splitlines()[0]
