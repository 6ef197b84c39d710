"""Write the fault-injection suite's results into docs/reliability.md.

`make chaos` runs tests/chaos with a JUnit XML report; this turns that report into the results
table of the fault matrix (between two marker comments), with the date, the data size and the
command, so the document always shows the last full run rather than hand-copied figures.

Usage: python -m tests.chaos.report <junit.xml> <docs/reliability.md>
"""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path
from xml.etree import ElementTree

START = "<!-- chaos-results:start -->"
END = "<!-- chaos-results:end -->"
COMMAND = "make chaos"


def case_title(name: str) -> str:
    """`test_a_source_deleted_mid_sync[small]` -> `a source deleted mid sync [small]`."""
    base, _, parameters = name.partition("[")
    words = base.removeprefix("test_").replace("_", " ")
    return f"{words} [{parameters}" if parameters else words


def outcome(case: ElementTree.Element) -> str:
    """passed, failed, error or skipped, as pytest reported the case."""
    for child, word in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        if case.find(child) is not None:
            return word
    return "passed"


def results_table(report: ElementTree.Element) -> list[str]:
    """The markdown rows: one per case, grouped by test module."""
    rows = ["| module | case | result | seconds |", "|---|---|---|---|"]
    for case in report.iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        seconds = float(case.get("time", "0"))
        rows.append(
            f"| {module} | {case_title(case.get('name', ''))} | {outcome(case)} | {seconds:.0f} |"
        )
    return rows


def summary(report: ElementTree.Element) -> str:
    """One line: how many cases passed of how many, when, at which size, by which command."""
    cases = list(report.iter("testcase"))
    passed = sum(1 for case in cases if outcome(case) == "passed")
    size = os.environ.get("PYVOLSYNC_CHAOS_SIZE", "small")
    day = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Last run: {day}, `{COMMAND}` (data size {size}): {passed} of {len(cases)} passed."


def render(report: ElementTree.Element) -> str:
    """The block that goes between the markers."""
    return "\n".join([START, "", summary(report), "", *results_table(report), "", END])


def replace_block(document: str, block: str) -> str:
    """Put `block` where the markers are, or at the end when the document has none yet."""
    if START in document and END in document:
        head, _, rest = document.partition(START)
        _, _, tail = rest.partition(END)
        return head + block + tail
    return document.rstrip("\n") + "\n\n" + block + "\n"


def main(arguments: list[str]) -> int:
    if len(arguments) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    junit, document = Path(arguments[0]), Path(arguments[1])
    if not junit.exists():
        print(f"{junit}: no JUnit report (did pytest run?)", file=sys.stderr)
        return 1
    report = ElementTree.parse(junit).getroot()
    existing = document.read_text() if document.exists() else "# Reliability\n"
    document.write_text(replace_block(existing, render(report)))
    print(f"{document}: results of {len(list(report.iter('testcase')))} cases written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
