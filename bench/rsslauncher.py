"""Run a console script's entry point in this process and report this process's own peak RSS.

Why a launcher: the wrapper's memory must be measured without restic's, and without its
parent's. From outside, ``wait4`` and ``RUSAGE_CHILDREN`` report the largest of the child *and
all its waited-for descendants* (restic), and sampling ``/proc/<pid>/status`` can miss the last
moments before exit. From inside, ``getrusage(RUSAGE_SELF).ru_maxrss`` looks right but is not:
Linux carries the high-water mark across ``fork`` and ``exec``, so a process started by a big
parent (the benchmark holds a manifest of 50,000 files) reports the parent's peak. ``VmHWM`` in
``/proc/self/status`` belongs to the address space that ``exec`` created, so it is exactly this
program's own peak. This launcher does what the installed console script does (import the entry
point, call it, exit with its status) and writes ``VmHWM`` in KiB to a file just before exiting.

Usage: ``python rsslauncher.py REPORT_PATH MODULE:FUNCTION PROGRAM_NAME [ARGUMENT...]``.
It imports only ``importlib`` and ``sys`` so it adds next to nothing itself.
"""

import importlib
import sys


def peak_rss_kib() -> int:
    """Return this address space's peak resident set size in KiB (``VmHWM``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/status has no VmHWM line")


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
            report.write(f"{peak_rss_kib()}\n")
    sys.exit(status)


if __name__ == "__main__":
    main()
