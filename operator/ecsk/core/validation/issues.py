"""Collecting issues: every rule appends, nothing raises, so one pass reports everything."""

from __future__ import annotations

from ecsk.core.models.errors import ValidationIssue


class Issues(list[ValidationIssue]):
    """A list of issues with a terse `add` so rules read as one line each."""

    __slots__ = ()

    def add(self, path: str, message: str, rule: str) -> None:
        """A rule ECS enforces: the call is refused."""
        self.append(ValidationIssue(path, message, rule))

    def warn(self, path: str, message: str, rule: str) -> None:
        """A rule ECS documents but does not enforce: `message` says what happens instead."""
        self.append(ValidationIssue(path, message, rule, "warning"))


__all__ = ["Issues", "ValidationIssue"]
