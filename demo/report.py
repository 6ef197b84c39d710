"""What the demo shows a person: one line per step as it happens, then a summary and the checks.

Numbers come from the mover's result documents (what the operator would read from the pod's
termination message), not from parsing its log lines, so the demo also shows that document off.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rich import box
from rich import console as rich_console
from rich import table as rich_table

from demo import moverrun
from pyvolsync import contract

OUTPUT_TAIL = 15


@dataclasses.dataclass(frozen=True, kw_only=True)
class Step:
    """One named run of the mover."""

    name: str
    run: moverrun.MoverRun
    note: str = ""
    """The setting that makes this step special (``SELECT_PREVIOUS=1``), if any."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Check:
    """One thing the demo verified."""

    name: str
    passed: bool
    detail: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    """The whole demo: steps, checks, and how long it took."""

    steps: tuple[Step, ...]
    checks: tuple[Check, ...]
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """True when there were checks and all of them passed."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as plain data (for ``--summary-json``)."""
        return {
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
            "steps": [step_to_dict(step) for step in self.steps],
            "checks": [dataclasses.asdict(check) for check in self.checks],
        }


def step_to_dict(step: Step) -> dict[str, Any]:
    """Return one step as plain data: its name, exit code, time and result document."""
    result = step.run.result
    return {
        "name": step.name,
        "exit_code": step.run.returncode,
        "seconds": round(step.run.seconds, 3),
        "result": dataclasses.asdict(result) if result else None,
    }


def size(count: int) -> str:
    """Return a byte count for people, in binary units."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def mark(passed: bool) -> str:
    """Return a green tick or a red cross."""
    return "[green]✓[/]" if passed else "[red]✗[/]"


def announce(step: Step, console: rich_console.Console) -> Step:
    """Print one line about a finished step and return it."""
    result = step.run.result
    snapshot = f"snapshot {result.snapshot_id[:8]}, " if result and result.snapshot_id else ""
    console.print(
        f"{mark(step.run.succeeded)} {step.name}{f' ({step.note})' if step.note else ''}: "
        f"{outcome_text(step)}, "
        f"{snapshot}{step.run.seconds:.1f} s"
    )
    return step


def outcome_text(step: Step) -> str:
    """Return the result document's outcome, or the exit code when there is no document."""
    result = step.run.result
    if result is None:
        return f"exit {step.run.returncode}, no result document"
    kind = f" ({result.error_kind})" if result.error_kind else ""
    return f"{result.outcome}{kind}"


def files_and_data(result: contract.MoverResult | None) -> tuple[str, str]:
    """Return the files and data cells of a step's row."""
    if result is None:
        return "", ""
    if result.files_restored or result.bytes_restored:
        return f"{result.files_restored} restored", size(result.bytes_restored)
    counts = (
        (result.files_new, "new"),
        (result.files_changed, "changed"),
        (result.files_unmodified, "same"),
    )
    files = ", ".join(f"{count} {label}" for count, label in counts if count)
    return files, size(result.bytes_added)


def steps_table(outcome: Outcome) -> rich_table.Table:
    """Return the table of what the mover did, from its result documents."""
    table = rich_table.Table(title="What the mover did", box=box.SIMPLE, pad_edge=False)
    for header in ("step", "snapshot", "files", "data added / restored", "time"):
        table.add_column(
            header, justify="left" if header[0] in "sf" else "right", no_wrap=header[0] == "s"
        )
    for step in outcome.steps:
        result = step.run.result
        files, data = files_and_data(result)
        table.add_row(
            f"{mark(step.run.succeeded)} {step.name}",
            result.snapshot_id[:8] if result else "",
            files,
            data,
            f"{step.run.seconds:.1f} s",
        )
    return table


def checks_table(outcome: Outcome) -> rich_table.Table:
    """Return the table of checks."""
    table = rich_table.Table(title="Verification", box=box.SIMPLE, pad_edge=False)
    for header in ("", "check", "evidence"):
        table.add_column(header)
    for check in outcome.checks:
        table.add_row(mark(check.passed), check.name, check.detail)
    return table


def render(outcome: Outcome, *, console: rich_console.Console, verbose: bool) -> None:
    """Print the summary, the mover's output where it helps, and the verdict."""
    console.print()
    console.print(steps_table(outcome))
    console.print(checks_table(outcome))
    for step in outcome.steps:
        if verbose or not step.run.succeeded:
            lines = step.run.output.splitlines()
            shown = lines if verbose else lines[-OUTPUT_TAIL:]
            console.rule(f"mover output: {step.name}")
            console.print("\n".join(shown), markup=False)
    failed = sum(not check.passed for check in outcome.checks)
    versions = {step.run.result.restic_version for step in outcome.steps if step.run.result}
    restic = f" (restic {', '.join(sorted(versions))})" if versions - {""} else ""
    if outcome.passed:
        console.print(
            f"[bold green]All {len(outcome.checks)} checks passed[/] in {outcome.seconds:.1f} s"
            f"{restic}."
        )
    else:
        console.print(f"[bold red]{failed} of {len(outcome.checks)} checks failed[/].")
