"""The command line of a cluster benchmark run on its own (``python -m bench.<name>``).

Each benchmark module has a ``run(options, console=...)`` returning its results document and a
``render_markdown(document)``; run alone, it takes the data set options every benchmark shares
plus ``--json``, prints its section and writes its document. ``make bench`` runs the same
``run`` through ``bench.report`` instead.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from localcluster import controlplane
from rich import console as rich_console

from bench import mover, sides

Run = Callable[..., dict[str, Any]]


def parse(
    arguments: Sequence[str] | None,
    *,
    program: str,
    description: str,
    size: str,
    files: int,
    results: Path,
) -> argparse.Namespace:
    """Return the options: the data set's size and files, repeats, cache, and ``--json``."""
    parser = argparse.ArgumentParser(prog=program, description=description)
    mover.add_run_options(parser, size=size, files=files)
    parser.add_argument("--json", type=Path, default=results, help="where to write the results")
    return parser.parse_args(arguments)


def main(
    options: argparse.Namespace, *, run: Run, render_markdown: Callable[[dict[str, Any]], str]
) -> int:
    """Run the benchmark, print its section and write its results document; 1 if it failed."""
    console = rich_console.Console(highlight=False)
    try:
        document = run(options, console=console)
    except (sides.RunError, controlplane.StartError, FileNotFoundError) as error:
        console.print(f"[bold red]benchmark failed:[/] {error}")
        return 1
    console.print(render_markdown(document), markup=False)
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"results written to {options.json}")
    return 0
