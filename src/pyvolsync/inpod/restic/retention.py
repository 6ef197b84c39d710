"""``FORGET_OPTIONS``: the retention policy, validated flag by flag before it reaches restic.

Upstream's controller renders ``spec.restic.retain`` into this variable and its script
word-splits it into the ``forget`` command line, so any text in it becomes restic arguments. Here
only the ``--keep-*`` flags upstream generates are accepted, each with a value of the right
shape, in ``--flag value`` or ``--flag=value`` form; anything else is a configuration error that
names the offending token.
"""

from __future__ import annotations

import re

from pyvolsync import contract
from pyvolsync.inpod import errors

_COUNT = re.compile(r"[0-9]+")
_DURATION = re.compile(r"(?:[0-9]+[ymdh])+")
_KINDS = dict.fromkeys(contract.KEEP_COUNT_FLAGS, _COUNT) | dict.fromkeys(
    contract.KEEP_DURATION_FLAGS, _DURATION
)


def _value_error(flag: str, value: str) -> errors.ConfigurationError:
    shape = (
        "a non-negative whole number"
        if _KINDS[flag] is _COUNT
        else "a restic duration such as 2y5m7d3h (units y, m, d, h)"
    )
    return errors.ConfigurationError(
        f"{contract.EnvVar.FORGET_OPTIONS}: {flag} needs {shape}, got {value!r}"
    )


def _split_flag(token: str, rest: list[str]) -> tuple[str, str]:
    """Return the flag and its value from ``--flag=value`` or from ``--flag`` + next token."""
    flag, equals, value = token.partition("=")
    if flag not in _KINDS:
        allowed = ", ".join(_KINDS)
        raise errors.ConfigurationError(
            f"{contract.EnvVar.FORGET_OPTIONS}: {token!r} is not accepted; allowed flags "
            f"are {allowed}"
        )
    if equals:
        return flag, value
    if not rest:
        raise errors.ConfigurationError(
            f"{contract.EnvVar.FORGET_OPTIONS}: {flag} is missing its value"
        )
    return flag, rest.pop(0)


def parse_forget_options(text: str) -> tuple[str, ...]:
    """Return the validated retention flags of ``text`` as ``(flag, value, ...)`` arguments.

    Raise ConfigurationError naming the first token that is not a ``--keep-*`` flag or whose
    value has the wrong shape. An empty text means "no forget".
    """
    tokens = text.split()
    arguments: list[str] = []
    while tokens:
        flag, value = _split_flag(tokens.pop(0), tokens)
        if not _KINDS[flag].fullmatch(value):
            raise _value_error(flag, value)
        arguments += [flag, value]
    return tuple(arguments)
