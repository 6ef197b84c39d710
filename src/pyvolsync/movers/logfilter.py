"""Which lines of a mover's log reach ``status.latestMoverStatus.logs``.

Upstream keeps, after a successful run, only the lines that tell the story (repository opened,
files processed, snapshot saved, restoring, completed) and after a failure every line, then the
last kilobyte. Dashboards and people grep these lines, so the filter keeps upstream's patterns;
unlike upstream, the cut never splits a line or a UTF-8 character.
"""

from __future__ import annotations

import re

MAX_BYTES = 1024

_SUCCESS_PATTERNS = (
    r"^\s*([pP]rocessed)\s.+([fF]iles)",
    r"^\s*([sS]napshot)\s.+([sS]aved)",
    r"^\s*(No eligible)",
    r"(No data)",
    r"(Directory is empty)",
    r"^\s*([cC]reated)",
    r"^\s*([rR]epository)\s.+([oO]pened)",
    r"^\s*([rR]estoring)",
    r"^\s*([nN]o parent snapshot)",
    r"^\s*([uU]sing parent snapshot)",
    r"^\s*([aA]dded to the repository)",
    r"^\s*([sS]uccessfully)",
    r"(RESTORE_OPTIONS)",
    r"([iI]nitialize [dD]ir)",
    r"^\s*([fF]atal)",
    r"^\s*(ERROR)",
    r"^\s*([rR]estic completed in)",
)
SUCCESS_LINE = re.compile("|".join(_SUCCESS_PATTERNS))


def summarize(log: str, *, succeeded: bool, limit: int = MAX_BYTES) -> str:
    """Return the lines of ``log`` worth keeping, at most ``limit`` bytes, newest kept."""
    lines = [line for line in log.splitlines() if line.strip()]
    if succeeded:
        lines = [line for line in lines if SUCCESS_LINE.search(line)]
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        cost = len(line.encode()) + (1 if kept else 0)
        if size + cost > limit:
            break
        kept.append(line)
        size += cost
    if not kept and lines:
        return _tail_of_line(lines[-1], limit)
    return "\n".join(reversed(kept))


def _tail_of_line(line: str, limit: int) -> str:
    """Return the end of a single over-long line, cut on a character boundary."""
    encoded = line.encode()[-limit:]
    return encoded.decode(errors="ignore")
