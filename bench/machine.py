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


def describe(*, restic: str | None = None, kopia: str | None = None) -> dict[str, Any]:
    """Return the machine's description, with the versions of the given engine executables."""
    versions = {
        name: tool_version(path, name)
        for name, path in (("restic", restic), ("kopia", kopia))
        if path is not None
    }
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        **versions,
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


def tool_version(path: str, engine: str) -> str:
    """Return the first line of the engine's version (``restic version``, ``kopia --version``),
    named: ``restic 0.18.1 compiled with ...``, ``kopia v0.23.1``."""
    argument = "--version" if engine == "kopia" else "version"
    completed = subprocess.run(
        [path, argument], capture_output=True, text=True, check=True, timeout=60
    )
    first = completed.stdout.strip().splitlines()[0].split(" build:")[0]
    return first if first.startswith(engine) else f"{engine} {first}"
