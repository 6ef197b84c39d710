"""``make bench``: every benchmark in one invocation, written to docs/benchmarks.md and .json.

A figure means something only next to the machine, the date, the load and the exact command it
came from, and figures taken on different days on a shared machine do not compare. So one
command runs them all in a row (the mover against bare restic, the operator with a thousand
sources, the stampede, the bootstrap) and writes one results document, ``docs/benchmarks.json``,
and the page rendered from it, ``docs/benchmarks.md``. The page's prose lives in
``bench/report.md``; the tables and verdicts are filled in from the results by ``render``, a
pure function, so ``--render-only`` rebuilds the page from a results document without running.

A benchmark that fails is recorded as failed (with its error) and the others still run; the
exit status is then 1. ``--size quick`` runs everything small, for trying the harness.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import shlex
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich import console as rich_console

from bench import machine

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("report.md")
MARKDOWN = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "docs" / "benchmarks.json"
NAMES = (
    "mover", "mover_kopia", "engines", "operator_scale", "stampede", "bootstrap", "console",
)  # fmt: skip
MOVERS = {"mover": "restic", "mover_kopia": "kopia"}
"""The mover benchmark, once per engine (``bench/mover.py --engine``)."""
HEADED_IN_TEMPLATE = frozenset({*MOVERS, "engines"})
"""Benchmarks whose heading and prose are in bench/report.md, not in their generated part."""
ARGUMENTS: dict[str, dict[str, Any]] = {
    "full": {
        "mover": [],
        "mover_kopia": ["--engine", "kopia"],
        "engines": [],
        "operator_scale": None,
        "stampede": None,
        "bootstrap": [],
        "console": None,
    },
    "quick": {
        "mover": ["--size", "50M", "--files", "2000", "--repeat", "2"],
        "mover_kopia": ["--engine", "kopia", "--size", "50M", "--files", "2000", "--repeat", "2"],
        "engines": ["--size", "50M", "--files", "2000", "--repeat", "2"],
        "operator_scale": {
            "sources": 100,
            "namespaces": 5,
            "manual_samples": 20,
            "schedule_samples": 20,
            "schedule_group": 10,
            "idle_seconds": 60.0,
        },
        "stampede": {"sources": 100, "namespaces": 5, "max_movers": 5, "jitter_seconds": 120},
        "bootstrap": ["--size", "50M", "--files", "2000", "--repeat", "2"],
        "console": {"sources": 100, "namespaces": 5, "loads": 3, "changes": 5},
    },
}
"""What each benchmark is run with: command-line arguments for the two with ``parse``, options
for ``run`` (a mapping, or None for the defaults) for the others."""
TITLES = {
    "mover": "Mover: `pyvolsync-mover` against bare restic",
    "mover_kopia": "Mover: `pyvolsync-mover kopia` against bare kopia",
    "engines": "Engines: kopia against restic through the operator",
    "operator_scale": "Operator at scale",
    "stampede": "Stampede control",
    "bootstrap": "Bootstrap: an app's PVC restored from its backup",
    "console": "Web console: the fleet page",
}


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One benchmark's results document, or why there is none."""

    result: dict[str, Any] | None
    error: str = ""
    seconds: float = 0.0


def parse(arguments: Sequence[str] | None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("--size", choices=sorted(ARGUMENTS), default="full")
    parser.add_argument(
        "--only", default=",".join(NAMES), help=f"comma-separated subset of {', '.join(NAMES)}"
    )
    parser.add_argument("--markdown", type=Path, default=MARKDOWN)
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rebuild the Markdown page from the existing results document; run nothing",
    )
    return parser.parse_args(arguments)


def main(arguments: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks, write the results document and the page."""
    options = parse(arguments)
    console = rich_console.Console(highlight=False)
    if options.render_only:
        document = json.loads(options.json.read_text())
    else:
        names = [name.strip() for name in options.only.split(",") if name.strip()]
        unknown = sorted(set(names) - set(NAMES))
        if unknown:
            console.print(f"unknown benchmark(s): {', '.join(unknown)}")
            return 2
        argv = sys.argv[1:] if arguments is None else list(arguments)
        partial = options.json.with_suffix(".partial.json")
        partial.parent.mkdir(parents=True, exist_ok=True)
        document = run_all(
            names,
            size=options.size,
            console=console,
            argv=argv,
            save=lambda done: partial.write_text(json.dumps(done, indent=2) + "\n"),
        )
        partial.unlink(missing_ok=True)
        if options.json.exists():
            carry_over(document, json.loads(options.json.read_text()))
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps(document, indent=2) + "\n")
    options.markdown.write_text(render(document, template=TEMPLATE.read_text()))
    written = options.markdown if options.render_only else f"{options.markdown} and {options.json}"
    console.print(f"wrote {written}")
    failed = [name for name, item in document["benchmarks"].items() if item.get("error")]
    return 1 if failed else 0


def run_all(
    names: Sequence[str],
    *,
    size: str,
    console: rich_console.Console,
    argv: Sequence[str],
    save: Callable[[dict[str, Any]], object] = lambda _document: None,
) -> dict[str, Any]:
    """Run each benchmark in turn; return the combined results document.

    ``save`` gets the document after each benchmark, so a run that is stopped half-way leaves
    the results of those that finished (``make bench`` keeps them in
    ``docs/benchmarks.partial.json`` until the run completes).
    """
    restic = shutil.which("restic") or "restic"
    document: dict[str, Any] = {
        "command": command_line(size, argv),
        "size": size,
        "machine": machine.describe(restic=restic) if shutil.which("restic") else {},
        "benchmarks": {},
    }
    started = time.monotonic()
    for name in names:
        console.rule(f"{TITLES[name]} ({size})")
        outcome = run_one(name, size=size, console=console)
        entry: dict[str, Any] = dict(outcome.result or {})
        if outcome.error:
            entry["error"] = outcome.error
            console.print(f"[red]{name} failed:[/] {outcome.error.splitlines()[-1]}")
        entry["wall_seconds"] = round(outcome.seconds, 1)
        document["benchmarks"][name] = entry
        save(document)
    document["duration_seconds"] = round(time.monotonic() - started)
    document["machine"]["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    return document


def carry_over(document: dict[str, Any], previous: Mapping[str, Any]) -> None:
    """Keep the earlier results of the benchmarks this run left out (``--only``), marked so."""
    for name in NAMES:
        earlier = (previous.get("benchmarks") or {}).get(name)
        if name in document["benchmarks"] or not earlier or earlier.get("error"):
            continue
        kept = dict(earlier)
        kept.setdefault(
            "carried_over",
            {"command": previous.get("command"), "date": previous.get("machine", {}).get("date")},
        )
        document["benchmarks"][name] = kept


def command_line(size: str, argv: Sequence[str]) -> str:
    """Return the command as the user typed it: ``make bench`` when make started this."""
    if os.environ.get("MAKELEVEL"):
        extra = [word for word in argv if word not in ("--size", size)]
        words = ["make", "bench", *([f"BENCH_SIZE={size}"] if size != "full" else [])]
        return " ".join([*words, *([f'BENCH_ARGS="{shlex.join(extra)}"'] if extra else [])])
    return shlex.join(["python", "-m", "bench.report", *argv])


def run_one(name: str, *, size: str, console: rich_console.Console) -> Outcome:
    """Run one benchmark; a failure becomes the outcome's error, never an exception."""
    started = time.monotonic()
    try:
        result = runner(name)(ARGUMENTS[size][name], console)
    except ModuleNotFoundError as error:
        if error.name != f"bench.{name}":
            raise
        return Outcome(None, error=f"bench/{name}.py does not exist", seconds=0.0)
    except Exception:  # a failed benchmark is reported; the others still run
        return Outcome(None, error=traceback.format_exc(), seconds=time.monotonic() - started)
    return Outcome(result, seconds=time.monotonic() - started)


def runner(name: str) -> Callable[[Any, rich_console.Console], dict[str, Any]]:
    """Return a function running benchmark ``name`` with its arguments and a console."""
    module = importlib.import_module(f"bench.{'mover' if name in MOVERS else name}")
    if name in MOVERS:
        tool = shutil.which(MOVERS[name])
        if tool is None:
            raise FileNotFoundError(
                f"{MOVERS[name]} is not on PATH; run `make bench` (it builds it)"
            )

        def run_mover(arguments: Any, console: rich_console.Console) -> dict[str, Any]:
            module.moverrun.program()
            result: dict[str, Any] = module.run(module.parse(arguments), tool=tool, console=console)
            result["command"] = shlex.join(["python", "-m", "bench.mover", *arguments])
            return result

        return run_mover
    if name in ("bootstrap", "engines"):
        return lambda arguments, console: dict(module.run(module.parse(arguments), console=console))
    return lambda options, _console: dict(module.run(options))


# -- rendering (pure) ---------------------------------------------------------------------------


def render(document: Mapping[str, Any], *, template: str) -> str:
    """Return the page: the template with each ``{{name}}`` replaced by its generated text."""
    fields = {
        "run": render_run(document),
        "summary": render_summary(document),
        **{name: render_section(name, document) for name in NAMES},
    }
    page = template
    for name, text in fields.items():
        page = page.replace("{{" + name + "}}", text.rstrip("\n"))
    return page


def render_run(document: Mapping[str, Any]) -> str:
    """Return the paragraph naming the command, the date, the machine and the load."""
    described = document.get("machine") or {}
    memory = described.get("memory_bytes", 0) / 2**30
    return (
        f"This page was generated by `{document['command']}` ({document['size']} size) on "
        f"{described.get('date', '?')} in {document.get('duration_seconds', 0) / 60:.0f} min, on "
        f"{described.get('cpus', '?')} CPUs ({described.get('cpu_model', '?')}), "
        f"{memory:.0f} GiB RAM, Linux {described.get('kernel', '?')}, Python "
        f"{described.get('python', '?')}, {described.get('restic', 'restic ?')}. The load "
        f"average was {described.get('load_average_1m', '?')} at the start and "
        f"{described.get('load_average_1m_end', '?')} at the end: the CPUs are shared with other "
        "jobs, so every benchmark also records the load around itself. All results: "
        "[`benchmarks.json`](benchmarks.json)." + carried_over_note(document)
    )


def carried_over_note(document: Mapping[str, Any]) -> str:
    """Return the sentence naming the results kept from an earlier run, if any."""
    kept = [
        f"{TITLES[name]} (`{entry['carried_over']['command']}`, {entry['carried_over']['date']})"
        for name, entry in document["benchmarks"].items()
        if entry.get("carried_over")
    ]
    if not kept:
        return ""
    return " Not rerun by this command, kept from an earlier run: " + "; ".join(kept) + "."


def render_summary(document: Mapping[str, Any]) -> str:
    """Return the table of every benchmark's targets and whether this run met them."""
    rows = ["| benchmark | target | this run | verdict |", "|---|---|---|---|"]
    for name in NAMES:
        entry = document["benchmarks"].get(name)
        if entry is None:
            rows.append(f"| {TITLES[name]} | | not run | |")
        elif entry.get("error"):
            rows.append(f"| {TITLES[name]} | | failed: {first_line(entry['error'])} | ✗ |")
        else:
            rows += [
                f"| {TITLES[name] if index == 0 else ''} | {target} | {value} | "
                f"{'✓ met' if met else '✗ missed'} |"
                for index, (target, value, met) in enumerate(summary_rows(name, entry))
            ]
    return "\n".join(rows)


def summary_rows(name: str, entry: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """Return (target, figure, met) of each target of one benchmark."""
    if name in MOVERS:
        rows = [
            (f"{item['step']} {item['target']}", mover_figure(item), bool(item["met"]))
            for item in entry["comparisons"]
            if item["target"]
        ]
        peak = entry["wrapper_peak_rss_bytes"] / 1e6
        return [*rows, ("own peak RSS < 60 MB", f"{peak:.1f} MB", entry["wrapper_peak_rss_met"])]
    module = importlib.import_module(f"bench.{name}")
    if hasattr(module, "summary"):
        return [
            (str(target), str(figure), bool(met)) for target, figure, met in module.summary(entry)
        ]
    return [
        (verdict.replace("_", " "), "see below", bool(met))
        for verdict, met in (entry.get("verdicts") or {}).items()
    ]


def mover_figure(item: Mapping[str, Any]) -> str:
    return f"{item['ratio']:.3f}x, {item['extra_seconds']:+.2f} s"


def first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else text).replace("|", "\\|")


def render_section(name: str, document: Mapping[str, Any]) -> str:
    """Return one benchmark's generated results (its own renderer's, for the helpers')."""
    entry = document["benchmarks"].get(name)
    heading = "" if name in HEADED_IN_TEMPLATE else f"## {TITLES[name]}\n\n"
    if entry is None:
        return heading + "_Not run in this invocation._"
    if entry.get("error"):
        error = str(entry["error"]).strip()[-2000:]
        return heading + "_Failed in this run:_\n\n```\n" + error + "\n```"
    if name in MOVERS:
        return render_mover(entry)
    module = importlib.import_module(f"bench.{name}")
    return str(module.render_markdown(entry))


def render_mover(result: Mapping[str, Any]) -> str:
    """Return the mover benchmark's tables: wall clock with targets, then CPU time."""
    dataset = result["dataset"]
    machine_line = result["machine"]
    engine = result.get("engine", "restic")
    opening = result.get("repository_open_seconds", result.get("restic_repository_open_seconds"))
    lines = [
        f"`{result['command']}`: {dataset['bytes'] / 2**20:.0f} MiB in {dataset['files']:,} "
        f"files, {result['repeat']} repeats (medians), page cache {result['page_cache']}, "
        f"load average {machine_line.get('load_average_1m')} at the start and "
        f"{machine_line.get('load_average_1m_end')} at the end; one {engine} command that opens "
        f"the repository took {opening:.2f} s.",
        "",
        f"| step | bare {engine} | pyvolsync-mover | ratio | extra | MB/s bare / mover | target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for item in result["comparisons"]:
        verdict = f"{item['target']}: {'met' if item['met'] else 'missed'}"
        lines.append(
            f"| {item['step']} | {item['bare_median_seconds']:.2f} s | "
            f"{item['wrapper_median_seconds']:.2f} s | {item['ratio']:.3f} | "
            f"{item['extra_seconds']:+.2f} s | {item['bare_megabytes_per_second']:.1f} / "
            f"{item['wrapper_megabytes_per_second']:.1f} | "
            f"{verdict if item['target'] else '(info)'} |"
        )
    lines += [
        "",
        f"| CPU time | bare {engine} | pyvolsync-mover | ratio | extra |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {item['step']} | {item['bare_median_seconds']:.2f} s | "
        f"{item['wrapper_median_seconds']:.2f} s | {item['ratio']:.3f} | "
        f"{item['extra_seconds']:+.2f} s |"
        for item in result.get("cpu_comparisons", [])
    ]
    peak = result["wrapper_peak_rss_bytes"] / 1e6
    lines += [
        "",
        "Raw repeats (seconds, bare / mover): " + mover_repeats(result["comparisons"]) + ".",
        f"The wrapper's own peak RSS: **{peak:.1f} MB** (target < 60 MB: "
        f"{'met' if result['wrapper_peak_rss_met'] else 'missed'}).",
    ]
    return "\n".join(lines)


def mover_repeats(comparisons: Sequence[Mapping[str, Any]]) -> str:
    """Return each step's repeats as ``bare mover / bare mover / ...``."""
    return "; ".join(
        f"{item['step']} "
        + " / ".join(
            f"{bare:.1f} {wrapper:.1f}"
            for bare, wrapper in zip(item["bare_seconds"], item["wrapper_seconds"], strict=True)
        )
        for item in comparisons
    )


if __name__ == "__main__":
    sys.exit(main())
