"""The one place the mover starts restic: run, stream, interpret the exit code, stop on SIGTERM.

Every restic command goes through ``Runner.run``: it logs the command line (secrets are masked by
the log filter), streams stdout line by line to a callback (backup and restore progress) or
collects it, reads stderr in a thread (restic's JSON ``error``/``exit_error`` messages and a tail
of plain text for error messages), and enforces an optional timeout. ``Runner.cancel`` is called
from the SIGTERM handler: it forwards SIGTERM to restic, which then releases its repository lock,
and kills it only after a grace period. restic retries a failed write to the repository for up to
15 minutes, even when the cause cannot go away by itself (a read-only file system, no write
permission, a full disk): the runner stops it at the first such retry instead. ``failure`` maps a
failed command to a ``MoverError``: by exit code first (10, 11, 12; restic's docs say any unknown
code is a failure), then by the few stderr phrases restic has no exit code for (a full disk, a
read-only repository, a network failure).
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import json
import logging
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

from pyvolsync import contract
from pyvolsync.mover import errors

logger = logging.getLogger(__name__)

STDERR_TAIL_LINES = 20
KEPT_ERROR_MESSAGES = 200


class ResticExit(enum.IntEnum):
    """restic's documented exit codes; any other code is treated as ``FAILURE``."""

    SUCCESS = 0
    FAILURE = 1
    INCOMPLETE = 3
    """backup: some files could not be read, the snapshot was saved without them."""
    REPOSITORY_MISSING = 10
    REPOSITORY_LOCKED = 11
    WRONG_PASSWORD = 12
    INTERRUPTED = 130


def interpret(returncode: int) -> ResticExit:
    """Return the meaning of restic's ``returncode``; unknown codes (and signals) are failures."""
    try:
        return ResticExit(returncode)
    except ValueError:
        return ResticExit.FAILURE


@dataclasses.dataclass(frozen=True)
class ErrorMessage:
    """One JSON ``error`` message from restic's stderr, with the file it is about if any."""

    message: str
    item: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Completed:
    """A finished restic command."""

    argv: tuple[str, ...]
    returncode: int
    duration: float
    stdout: str = ""
    stderr_tail: tuple[str, ...] = ()
    errors: tuple[ErrorMessage, ...] = ()
    error_count: int = 0
    exit_message: str = ""
    timeout: float | None = None
    timed_out: bool = False
    hopeless: str = ""
    """The retry message after which the runner stopped restic, if it did."""

    @property
    def exit(self) -> ResticExit:
        """Return the interpreted exit code."""
        return interpret(self.returncode)

    @property
    def reason(self) -> str:
        """Return the best one-line explanation of a failure, from restic's own words."""
        if self.timed_out:
            return f"restic did not finish within {self.timeout:g} s"
        if self.hopeless:
            return f"restic was stopped instead of retrying for minutes: {self.hopeless.strip()}"
        if self.returncode < 0:
            return f"restic was killed by signal {_signal_name(-self.returncode)}"
        if self.exit_message:
            return self.exit_message.strip()
        lines = [line.strip() for line in self.stderr_tail if line.strip()]
        if lines:
            return " / ".join(lines[-4:])
        return f"restic exited with code {self.returncode}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


_RETRY = re.compile(r"returned error, retrying after")
_HOPELESS = re.compile(
    r"read-only file system|permission denied|no space left on device|disk quota exceeded",
    re.IGNORECASE,
)


def hopeless_retry(line: str) -> bool:
    """Return True for a retry message whose cause no retry can remove (e.g. a read-only disk)."""
    return bool(_RETRY.search(line) and _HOPELESS.search(line))


class _StderrReader(threading.Thread):
    """Read restic's stderr: JSON errors, the exit message and a tail of plain lines.

    ``on_hopeless`` is called (once) with the first retry message no retry can help.
    """

    def __init__(
        self, stream: IO[str], *, quiet: bool, on_hopeless: Callable[[str], None] | None = None
    ) -> None:
        super().__init__(daemon=True)
        self._stream = stream
        self._quiet = quiet
        self._on_hopeless = on_hopeless
        self.hopeless = ""
        self.tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.errors: list[ErrorMessage] = []
        self.error_count = 0
        self.exit_message = ""

    def run(self) -> None:
        for line in self._stream:
            self._handle(line.rstrip("\n"))

    def _handle(self, line: str) -> None:
        document = _json_object(line)
        if document is None:
            if line.strip():
                self.tail.append(line)
                if not self._quiet:
                    logger.info("%s", line)
                if not self.hopeless and hopeless_retry(line):
                    self.hopeless = line
                    if self._on_hopeless is not None:
                        self._on_hopeless(line)
            return
        kind = document.get("message_type")
        if kind == "exit_error":
            self.exit_message = str(document.get("message", ""))
            self.tail.append(self.exit_message)
        elif kind == "error":
            self._add_error(document)

    def _add_error(self, document: dict[str, Any]) -> None:
        nested = document.get("error")
        message = nested.get("message") if isinstance(nested, dict) else document.get("message")
        error = ErrorMessage(message=str(message or "").strip(), item=str(document.get("item", "")))
        self.error_count += 1
        if len(self.errors) < KEPT_ERROR_MESSAGES:
            self.errors.append(error)
        self.tail.append(error.message)
        logger.warning("restic: %s", error.message)


def _json_object(line: str) -> dict[str, Any] | None:
    """Return ``line`` parsed as a JSON object, or None if it is not one."""
    if not line.startswith("{"):
        return None
    try:
        document = json.loads(line)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


class Runner:
    """Runs restic commands one at a time and stops the current one on ``cancel``."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str],
        global_options: tuple[str, ...] = (),
        executable: str = "restic",
        termination_grace: float = 20.0,
    ) -> None:
        self._environ = dict(environ)
        self._prefix = (executable, *global_options)
        self._termination_grace = termination_grace
        self._process: subprocess.Popen[str] | None = None
        self._cancelled = False
        self._timed_out = False

    @property
    def cancelled(self) -> bool:
        """Return True once ``cancel`` was called."""
        return self._cancelled

    def cancel(self) -> None:
        """Stop: forward SIGTERM to the running restic, kill it after the grace period.

        Safe to call from a signal handler; later ``run`` calls raise CancelledError.
        """
        self._cancelled = True
        self._stop(self._process)

    def _stop(self, process: subprocess.Popen[str] | None) -> None:
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        killer = threading.Timer(self._termination_grace, _kill_if_running, (process,))
        killer.daemon = True
        killer.start()

    def _give_up(self, process: subprocess.Popen[str]) -> None:
        logger.warning("restic cannot succeed by retrying this error: stopping it")
        self._stop(process)

    def _expire(self, process: subprocess.Popen[str]) -> None:
        self._timed_out = True
        self._stop(process)

    def run(
        self,
        arguments: tuple[str, ...],
        *,
        cwd: str | None = None,
        on_line: Callable[[str], None] | None = None,
        echo: bool = False,
        quiet: bool = False,
        timeout: float | None = None,
    ) -> Completed:
        """Run ``restic <global options> <arguments>`` and return how it ended.

        stdout lines go to ``on_line`` when given, else they are collected (and logged if
        ``echo``); plain stderr lines are logged unless ``quiet``. Raise CancelledError if the
        mover was cancelled before or during the command, ConfigurationError if restic cannot
        be started.
        """
        if self._cancelled:
            raise errors.CancelledError()
        argv = (*self._prefix, *arguments)
        logger.info("running: %s", shlex.join(argv))
        started = time.monotonic()
        process = self._start(argv, cwd=cwd)
        reader = _StderrReader(
            _stream(process.stderr), quiet=quiet, on_hopeless=lambda line: self._give_up(process)
        )
        reader.start()
        stdout = self._follow(process, reader, timeout=timeout, on_line=on_line, echo=echo)
        if self._cancelled:
            raise errors.CancelledError(f"cancelled by SIGTERM during restic {arguments[0]}")
        return Completed(
            argv=argv,
            returncode=process.returncode,
            duration=time.monotonic() - started,
            stdout=stdout,
            stderr_tail=tuple(reader.tail),
            errors=tuple(reader.errors),
            error_count=reader.error_count,
            exit_message=reader.exit_message,
            timeout=timeout,
            timed_out=self._timed_out,
            hopeless=reader.hopeless,
        )

    def _follow(
        self,
        process: subprocess.Popen[str],
        reader: _StderrReader,
        *,
        timeout: float | None,
        on_line: Callable[[str], None] | None,
        echo: bool,
    ) -> str:
        """Stream stdout until restic exits (or is stopped); return what was collected."""
        self._process, self._timed_out = process, False
        if self._cancelled:
            self._stop(process)
        timer = threading.Timer(timeout, self._expire, (process,)) if timeout else None
        if timer:
            timer.start()
        try:
            return _read_stdout(_stream(process.stdout), on_line=on_line, echo=echo)
        finally:
            process.wait()
            reader.join()
            if timer:
                timer.cancel()
            self._process = None
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()

    def _start(self, argv: tuple[str, ...], *, cwd: str | None) -> subprocess.Popen[str]:
        try:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._environ,
                cwd=cwd,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
        except FileNotFoundError:
            raise errors.ConfigurationError(
                f"{argv[0]} was not found on PATH: the mover image must ship restic 0.17 or newer"
            ) from None


def _stream(stream: IO[str] | None) -> IO[str]:
    if stream is None:
        raise RuntimeError("restic's output was not captured")
    return stream


def _read_stdout(stream: IO[str], *, on_line: Callable[[str], None] | None, echo: bool) -> str:
    collected: list[str] = []
    for line in stream:
        if on_line is not None:
            on_line(line)
            continue
        collected.append(line)
        if echo and line.strip():
            logger.info("%s", line.rstrip("\n"))
    return "".join(collected)


def _kill_if_running(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        logger.warning("restic did not stop within the grace period; killing it")
        process.kill()


_KIND_BY_EXIT = {
    ResticExit.REPOSITORY_MISSING: contract.ErrorKind.REPOSITORY_MISSING,
    ResticExit.REPOSITORY_LOCKED: contract.ErrorKind.REPOSITORY_LOCKED,
    ResticExit.WRONG_PASSWORD: contract.ErrorKind.WRONG_PASSWORD,
}
_NO_SPACE = re.compile(r"no space left on device|disk quota exceeded", re.IGNORECASE)
_READ_ONLY = re.compile(
    r"read-only file system"
    r"|(?:Save\(<[^>]*>\) (?:returned error|failed)|unable to create lock).*permission denied",
    re.IGNORECASE,
)
_NETWORK = re.compile(
    r"connection refused|no such host|dial tcp|i/o timeout|network is unreachable"
    r"|connection reset|tls handshake|x509:|context deadline exceeded|server misbehaving"
    r"|timeout awaiting|no route to host",
    re.IGNORECASE,
)


def failure_kind(completed: Completed) -> contract.ErrorKind:
    """Given a failed restic command, return what kind of failure it was."""
    if completed.timed_out:
        return contract.ErrorKind.REPOSITORY_UNREACHABLE
    kind = _KIND_BY_EXIT.get(completed.exit)
    if kind is not None:
        return kind
    text = "\n".join((*completed.stderr_tail, completed.exit_message))
    if _NO_SPACE.search(text):
        return contract.ErrorKind.NO_SPACE
    if _READ_ONLY.search(text):
        return contract.ErrorKind.REPOSITORY_READ_ONLY
    if _NETWORK.search(text):
        return contract.ErrorKind.REPOSITORY_UNREACHABLE
    return contract.ErrorKind.RESTIC_FAILED


def failure(completed: Completed, *, action: str) -> errors.MoverError:
    """Given a failed restic command and what it was doing, return the error to raise."""
    return errors.error(failure_kind(completed), f"{action} failed: {completed.reason}")
