"""Errors raised by the Cluster Query Language package.

They all derive from `ValueError` so callers validating a whole ECS resource can catch one family and
report it against the field path (`placementConstraints[0].expression`) without caring which stage
refused the expression.
"""

from __future__ import annotations


class CQLError(ValueError):
    """Base of every error this package raises on a bad expression or an inexpressible constraint."""


class CQLSyntaxError(CQLError):
    """The expression is not valid CQL (grammar, or an argument of the wrong shape for its subject).

    Carries the position so the CLI and the operator's Events can show the user exactly where it broke:
    `line` and `column` are 1-based, `pos` is the 0-based offset into the text.
    """

    def __init__(self, message: str, text: str, pos: int, expected: tuple[str, ...] = ()) -> None:
        self.reason = message
        self.text = text
        self.pos = max(0, min(pos, len(text)))
        self.expected = expected
        before = text[: self.pos]
        self.line = before.count("\n") + 1
        line_start = before.rfind("\n") + 1
        self.column = self.pos - line_start + 1
        line_end = text.find("\n", self.pos)
        self.source_line = text[line_start : len(text) if line_end < 0 else line_end]
        self.caret_line = " " * (self.column - 1) + "^"
        super().__init__(
            f"{message} at line {self.line}, column {self.column}\n  {self.source_line}\n  {self.caret_line}"
        )


class CQLCompileError(CQLError):
    """The expression is valid CQL but cannot be turned into Kubernetes scheduling terms without
    changing its meaning; refusing is the rule, because a weakened binding constraint would place
    tasks where ECS never would."""


class CQLEncodingError(CQLError):
    """An ECS name or value cannot be carried by a Kubernetes label under ecsk's encoding."""
