"""The one place the mover starts a backup engine: run, stream, time out, stop on SIGTERM.

Every restic or kopia command goes through ``Runner.run``: it logs the command line (secrets are
masked by the log filter), streams stdout line by line to a callback (progress) or collects it,
reads stderr in a thread, and enforces an optional timeout. ``Runner.cancel`` is called from the
SIGTERM handler: it forwards SIGTERM to the engine, which then releases what it holds (restic's
lock, kopia's session), and kills it only after a grace period.

What the engine's stderr and exit code mean is the engine's business: each engine passes a
``StderrReader`` subclass that reads its structured messages and names the retry messages no retry
can fix (the runner then stops the engine at once), and maps a finished command to an error kind
itself.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import logging
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from typing import IO, Generic, TypeVar

from pyvolsync.inpod import errors

logger = logging.getLogger(__name__)

STDERR_TAIL_LINES = 20


class StderrReader:
    """Reads one command's stderr: keeps a tail of its lines and logs them unless ``quiet``.

    Engines subclass it: ``handle`` for their structured messages, ``is_hopeless`` for retries
    that cannot succeed, ``explanation`` for the best one-line account of a failure.
    """

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.hopeless = ""
        self.on_hopeless: Callable[[str], None] | None = None

    def handle(self, line: str) -> None:
        """Read one line (without its newline)."""
        if not line.strip():
            return
        self.tail.append(line)
        if not self.quiet:
            logger.info("%s", line)
        if not self.hopeless and self.is_hopeless(line):
            self.hopeless = line
            if self.on_hopeless is not None:
                self.on_hopeless(line)

    def is_hopeless(self, line: str) -> bool:
        """Return True for a retry message whose cause no retry can remove."""
        return False

    def explanation(self) -> str:
        """Return the engine's own words about a failure: the last lines of stderr."""
        lines = [line.strip() for line in self.tail if line.strip()]
        return " / ".join(lines[-4:])


ReaderT = TypeVar("ReaderT", bound=StderrReader)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Completed(Generic[ReaderT]):
    """A finished command."""

    argv: tuple[str, ...]
    returncode: int
    duration: float
    stderr: ReaderT
    stdout: str = ""
    timeout: float | None = None
    timed_out: bool = False

    @property
    def program(self) -> str:
        """Return the name of the program that ran (``restic``, ``kopia``)."""
        return os.path.basename(self.argv[0])

    @property
    def reason(self) -> str:
        """Return the best one-line explanation of a failure, from the engine's own words."""
        if self.timed_out:
            return f"{self.program} did not finish within {self.timeout:g} s"
        if self.stderr.hopeless:
            return (
                f"{self.program} was stopped instead of retrying for minutes: "
                f"{self.stderr.hopeless.strip()}"
            )
        if self.returncode < 0:
            return f"{self.program} was killed by signal {_signal_name(-self.returncode)}"
        return self.stderr.explanation() or f"{self.program} exited with code {self.returncode}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


class Runner(Generic[ReaderT]):
    """Runs one engine's commands one at a time and stops the current one on ``cancel``."""

    def __init__(
        self,
        *,
        executable: str,
        reader: Callable[[bool], ReaderT],
        environ: Mapping[str, str],
        global_options: tuple[str, ...] = (),
        termination_grace: float = 20.0,
        missing: str = "",
    ) -> None:
        self._environ = dict(environ)
        self._prefix = (executable, *global_options)
        self._reader = reader
        self._missing = missing
        self._termination_grace = termination_grace
        self._process: subprocess.Popen[bytes] | None = None
        self._cancelled = False
        self._timed_out = False

    @property
    def program(self) -> str:
        """Return the name of the engine's program (``restic``, ``kopia``)."""
        return os.path.basename(self._prefix[0])

    @property
    def cancelled(self) -> bool:
        """Return True once ``cancel`` was called."""
        return self._cancelled

    def cancel(self) -> None:
        """Stop: forward SIGTERM to the running command, kill it after the grace period.

        Safe to call from a signal handler; later ``run`` calls raise CancelledError.
        """
        self._cancelled = True
        self._stop(self._process)

    def _stop(self, process: subprocess.Popen[bytes] | None) -> None:
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        killer = threading.Timer(self._termination_grace, _kill_if_running, (process, self.program))
        killer.daemon = True
        killer.start()

    def _give_up(self, process: subprocess.Popen[bytes]) -> None:
        logger.warning("%s cannot succeed by retrying this error: stopping it", self.program)
        self._stop(process)

    def _expire(self, process: subprocess.Popen[bytes]) -> None:
        self._timed_out = True
        self._stop(process)

    def run(
        self,
        arguments: tuple[str, ...],
        *,
        cwd: str | None = None,
        on_line: Callable[[str], None] | None = None,
        on_chunk: Callable[[bytes], None] | None = None,
        echo: bool = False,
        quiet: bool = False,
        timeout: float | None = None,
        reader: Callable[[bool], ReaderT] | None = None,
    ) -> Completed[ReaderT]:
        """Run ``<executable> <global options> <arguments>`` and return how it ended.

        stdout lines go to ``on_line`` when given, its raw bytes to ``on_chunk`` (a file's
        content), else they are collected (and logged if ``echo``); stderr lines are logged
        unless ``quiet``. ``reader`` replaces the runner's
        stderr reader for this command (one that also follows its progress). Raise
        CancelledError if the mover was cancelled before or during the command,
        ConfigurationError if the engine cannot be started.
        """
        if self._cancelled:
            raise errors.CancelledError()
        argv = (*self._prefix, *arguments)
        logger.info("running: %s", shlex.join(argv))
        started = time.monotonic()
        process = self._start(argv, cwd=cwd)
        stderr = (reader or self._reader)(quiet)
        stderr.on_hopeless = lambda line: self._give_up(process)
        thread = threading.Thread(target=_read_lines, args=(process.stderr, stderr), daemon=True)
        thread.start()
        output = Output(on_line=on_line, on_chunk=on_chunk, echo=echo)
        stdout = self._follow(process, thread, timeout=timeout, output=output)
        if self._cancelled:
            raise errors.CancelledError(
                f"cancelled by SIGTERM during {self.program} {arguments[0]}"
            )
        return Completed(
            argv=argv,
            returncode=process.returncode,
            duration=time.monotonic() - started,
            stdout=stdout,
            stderr=stderr,
            timeout=timeout,
            timed_out=self._timed_out,
        )

    def _follow(
        self,
        process: subprocess.Popen[bytes],
        thread: threading.Thread,
        *,
        timeout: float | None,
        output: Output,
    ) -> str:
        """Stream stdout until the command exits (or is stopped); return what was collected."""
        self._process, self._timed_out = process, False
        if self._cancelled:
            self._stop(process)
        timer = threading.Timer(timeout, self._expire, (process,)) if timeout else None
        if timer:
            timer.start()
        try:
            return output.read(_stream(process.stdout))
        finally:
            process.wait()
            thread.join()
            if timer:
                timer.cancel()
            self._process = None
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()

    def _start(self, argv: tuple[str, ...], *, cwd: str | None) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._environ,
                cwd=cwd,
            )
        except FileNotFoundError:
            hint = self._missing or "the mover image must ship it"
            raise errors.ConfigurationError(f"{argv[0]} was not found on PATH: {hint}") from None


def _stream(stream: IO[bytes] | None) -> IO[bytes]:
    if stream is None:
        raise RuntimeError("the command's output was not captured")
    return stream


def _text(stream: IO[bytes]) -> io.TextIOWrapper:
    """Return the engine's output as text (UTF-8; a byte that is not becomes U+FFFD)."""
    return io.TextIOWrapper(stream, encoding="utf-8", errors="replace")


def _read_lines(stream: IO[bytes] | None, reader: StderrReader) -> None:
    with _text(_stream(stream)) as lines:
        for line in lines:
            reader.handle(line.rstrip("\n"))


OUTPUT_CHUNK = 65536


@dataclasses.dataclass(frozen=True, kw_only=True)
class Output:
    """Where a command's stdout goes: lines to ``on_line``, bytes to ``on_chunk``, else
    collected as text (and logged if ``echo``)."""

    on_line: Callable[[str], None] | None = None
    on_chunk: Callable[[bytes], None] | None = None
    echo: bool = False

    def read(self, stream: IO[bytes]) -> str:
        """Read ``stream`` to its end; return the text collected ("" when passed on)."""
        if self.on_chunk is not None:
            while chunk := stream.read(OUTPUT_CHUNK):
                self.on_chunk(chunk)
            return ""
        collected: list[str] = []
        with _text(stream) as lines:
            for line in lines:
                if self.on_line is not None:
                    self.on_line(line)
                    continue
                collected.append(line)
                if self.echo and line.strip():
                    logger.info("%s", line.rstrip("\n"))
        return "".join(collected)


def _kill_if_running(process: subprocess.Popen[bytes], program: str) -> None:
    if process.poll() is None:
        logger.warning("%s did not stop within the grace period; killing it", program)
        process.kill()
