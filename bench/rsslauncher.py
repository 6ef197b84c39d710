"""Run a console script's entry point in this process and report this process's own peak RSS.

Why a launcher: the wrapper's memory must be measured without restic's. ``wait4`` and
``RUSAGE_CHILDREN`` report the largest of the child *and all its waited-for descendants*, so they
would report restic's peak; sampling ``VmHWM`` in ``/proc/<pid>/status`` from outside can miss the
last moments before exit. A process's ``getrusage(RUSAGE_SELF).ru_maxrss`` is exactly its own
high-water resident set (children are separate address spaces), so this launcher does what the
installed console script does (import the entry point, call it, exit with its status) and
writes that number, in KiB, to a file just before exiting.

Usage: ``python rsslauncher.py REPORT_PATH MODULE:FUNCTION PROGRAM_NAME [ARGUMENT...]``.
It imports only ``importlib``, ``resource`` and ``sys`` so it adds next to nothing itself.
"""

import importlib
import resource
import sys


def main() -> None:
    """Call the entry point with the remaining arguments; record peak RSS; exit as it did."""
    report_path, entry_point, program_name, *arguments = sys.argv[1:]
    module_name, _, function_name = entry_point.partition(":")
    sys.argv = [program_name, *arguments]
    status: str | int | None = 0
    try:
        status = getattr(importlib.import_module(module_name), function_name)()
    except SystemExit as exit_request:
        status = exit_request.code
    finally:
        with open(report_path, "w") as report:
            report.write(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\n")
    sys.exit(status)


if __name__ == "__main__":
    main()
