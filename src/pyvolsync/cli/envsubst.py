"""Flux's post-build variable substitution, for rendering the app component without Flux.

Flux's kustomize-controller substitutes variables in the YAML text of each built resource with
its fork of drone/envsubst. This module follows that behaviour for the forms the component uses,
so ``pyvolsync render-component`` and Flux produce the same objects:

- ``${VAR}``: the value; an unset variable is an error naming it (Flux's strict mode, so a
  forgotten ``APP`` never becomes an empty name);
- ``${VAR:=default}``, ``${VAR:-default}``, ``${VAR=default}``, ``${VAR-default}``: the value,
  or the default when the variable is unset or empty (Flux treats all four alike);
- defaults may nest: ``${VOLSYNC_CLAIM:=${APP}}``;
- ``$$`` is a literal ``$`` (so ``$${VAR}`` stays ``${VAR}``); a ``$`` not followed by ``{`` is
  left alone, as Flux does not expand ``$VAR``; inside a default ``\\/`` and ``\\\\`` are ``/``
  and ``\\``.

Other bash forms (``${#VAR}``, ``${VAR^^}``, ``${VAR/a/b}``, ...) are refused with an error
rather than silently left in place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

NAME = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")
NAME_EXACT = re.compile(r"^[_A-Za-z][_A-Za-z0-9]*$")
DEFAULT_OPERATORS = (":=", ":-", "=", "-")
ESCAPED_IN_DEFAULT = ("/", "\\")
SNIPPET_LENGTH = 40


class SubstitutionError(ValueError):
    """The text cannot be substituted: a variable is unset, or an expression is malformed."""


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """Return ``text`` with every ``${...}`` expression replaced, as Flux's strict mode does."""
    for name in variables:
        if not NAME_EXACT.match(name):
            raise SubstitutionError(f"{name!r} is not a variable name (letters, digits, _)")
    parser = _Parser(text, variables)
    result = parser.text(inside_default=False)
    if parser.missing:
        names = ", ".join(sorted(set(parser.missing)))
        raise SubstitutionError(f"variables without a value or a default: {names}")
    return result


class _Parser:
    """A one-pass reader of the text; collects the names of unset variables as it goes."""

    def __init__(self, text: str, variables: Mapping[str, str]) -> None:
        self.source = text
        self.position = 0
        self.variables = variables
        self.missing: list[str] = []

    def text(self, *, inside_default: bool) -> str:
        """Read text up to the end (or, inside a default, up to its closing brace)."""
        pieces: list[str] = []
        source = self.source
        while self.position < len(source):
            character = source[self.position]
            following = source[self.position + 1 : self.position + 2]
            if inside_default and character == "}":
                return "".join(pieces)
            if character == "$" and following == "$":
                pieces.append("$")
                self.position += 2
            elif character == "$" and following == "{":
                pieces.append(self.expression())
            elif inside_default and character == "\\" and following in ESCAPED_IN_DEFAULT:
                pieces.append(following)
                self.position += 2
            else:
                pieces.append(character)
                self.position += 1
        return "".join(pieces)

    def expression(self) -> str:
        """Read one ``${...}`` starting at the current position and return its value."""
        start = self.position
        self.position += 2
        name = NAME.match(self.source, self.position)
        if name is None:
            raise SubstitutionError(f"bad substitution {self.snippet(start)}")
        self.position = name.end()
        if self.source.startswith("}", self.position):
            self.position += 1
            return self.value(name.group(), default=None)
        operator = next(
            (item for item in DEFAULT_OPERATORS if self.source.startswith(item, self.position)),
            None,
        )
        if operator is None and self.position >= len(self.source):
            raise SubstitutionError(f"missing closing brace in {self.snippet(start)}")
        if operator is None:
            raise SubstitutionError(
                f"unsupported substitution {self.snippet(start)}: "
                "use ${VAR}, ${VAR:=default} or ${VAR:-default}"
            )
        self.position += len(operator)
        default = self.text(inside_default=True)
        if self.position >= len(self.source):
            raise SubstitutionError(f"missing closing brace in {self.snippet(start)}")
        self.position += 1
        return self.value(name.group(), default=default)

    def value(self, name: str, *, default: str | None) -> str:
        found = self.variables.get(name)
        if default is not None:
            return found or default
        if found is None:
            self.missing.append(name)
            return ""
        return found

    def snippet(self, start: int) -> str:
        """The expression starting at ``start``, cut short, and its line number."""
        line = self.source.count("\n", 0, start) + 1
        shown = self.source[start : start + SNIPPET_LENGTH].split("\n", 1)[0]
        return f"{shown!r} (line {line})"
