"""Run ``pyvolsync-mover`` the way a mover Job does: environment in, result document out.

The demo and the benchmark use the real program, not its functions, so they see exactly what a
pod sees: its exit code, its log lines and the JSON result document it writes where
``PYVOLSYNC_RESULT_PATH`` says. The environment is built from scratch on top of the caller's
``PATH`` and ``HOME``, so a ``RESTIC_*`` variable in the user's shell can never leak in.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from pyvolsync import contract

PROGRAM = "pyvolsync-mover"
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


@dataclasses.dataclass(frozen=True, kw_only=True)
class MoverRun:
    """One finished run of the mover."""

    operations: tuple[str, ...]
    returncode: int
    seconds: float
    result: contract.MoverResult | None
    output: str

    @property
    def succeeded(self) -> bool:
        """True when the mover exited 0 and its result document says the run went well."""
        return self.returncode == 0 and self.result is not None and self.result.outcome.ok


def program() -> str:
    """Return the mover's path: on ``PATH``, else next to this Python (the project's venv)."""
    found = shutil.which(PROGRAM) or shutil.which(PROGRAM, path=str(Path(sys.executable).parent))
    if found is None:
        raise FileNotFoundError(f"{PROGRAM} is not installed; run `make tools` first")
    return found


def environment(settings: Mapping[str, str]) -> dict[str, str]:
    """Return a clean environment for the mover: a few inherited basics plus ``settings``."""
    inherited = {name: os.environ[name] for name in INHERITED if name in os.environ}
    return inherited | dict(settings)


def run(
    operations: Sequence[str],
    *,
    settings: Mapping[str, str],
    result_path: Path,
    command: Sequence[str] | None = None,
    engine: str = "restic",
) -> MoverRun:
    """Run ``pyvolsync-mover ENGINE OPERATIONS`` with ``settings`` as its environment.

    ``command`` replaces the program (the benchmark runs it under a memory-measuring launcher).
    The result document is read from ``result_path``; it is None if the mover wrote none.
    """
    result_path.unlink(missing_ok=True)
    argv = [*(command or [program()]), engine, *operations]
    variables = environment(settings) | {contract.EnvVar.RESULT_PATH: str(result_path)}
    started = time.perf_counter()
    completed = subprocess.run(
        argv, env=variables, capture_output=True, text=True, errors="replace", check=False
    )
    seconds = time.perf_counter() - started
    return MoverRun(
        operations=tuple(operations),
        returncode=completed.returncode,
        seconds=seconds,
        result=read_result(result_path),
        output=completed.stdout + completed.stderr,
    )


def read_result(path: Path) -> contract.MoverResult | None:
    """Return the result document at ``path``, or None if it is missing or not a result."""
    try:
        return contract.MoverResult.from_json(path.read_bytes())
    except (FileNotFoundError, contract.ResultDocumentError):
        return None
