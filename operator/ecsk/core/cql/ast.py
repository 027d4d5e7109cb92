"""Typed syntax tree of a CQL expression.

Frozen dataclasses so parsed expressions can be cached, hashed and compared structurally (the source
span is excluded from equality: two spellings of the same query are the same query).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import TypeAlias


class SubjectKind(enum.Enum):
    """What part of a container instance a comparison looks at."""

    ATTRIBUTE = "attribute"
    EC2_INSTANCE_ID = "ec2InstanceId"
    REGISTERED_AT = "registeredAt"
    RUNNING_TASKS_COUNT = "runningTasksCount"
    TASK_GROUP = "task:group"
    AGENT_CONNECTED = "agentConnected"
    AGENT_VERSION = "agentVersion"


class Op(enum.Enum):
    """Comparison operators; the value is the canonical symbolic spelling used when printing."""

    EQ = "=="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    EXISTS = "exists"
    NOT_EXISTS = "!exists"
    IN = "in"
    NOT_IN = "!in"
    MATCHES = "=~"
    NOT_MATCHES = "!~"


ORDERED_OPS = frozenset({Op.GT, Op.GE, Op.LT, Op.LE})
UNARY_OPS = frozenset({Op.EXISTS, Op.NOT_EXISTS})
LIST_OPS = frozenset({Op.IN, Op.NOT_IN})
REGEX_OPS = frozenset({Op.MATCHES, Op.NOT_MATCHES})


@dataclass(frozen=True)
class Span:
    """Where a node came from in the source text (0-based offsets), for error messages."""

    start: int
    end: int


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    attribute: str | None = None  # only for ATTRIBUTE: the ECS attribute name

    def __str__(self) -> str:
        if self.kind is SubjectKind.ATTRIBUTE:
            return f"attribute:{self.attribute}"
        return self.kind.value


@dataclass(frozen=True)
class Comparison:
    """`subject operator [argument]`. `values` is empty for (not_)exists, has one element for scalar
    operators and one or more for (not_)in; values are kept exactly as written (unquoted)."""

    subject: Subject
    op: Op
    values: tuple[str, ...] = ()
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    operand: Expr


Expr: TypeAlias = "Comparison | And | Or | Not"

# A bare (unquoted) value: anything that cannot be confused with the surrounding syntax.
BARE_VALUE_RE = re.compile(r"[^\s,\[\]()'\"&|]+")


def format_value(value: str) -> str:
    """Quote a value only when it cannot be written bare, so printed expressions stay readable."""
    if BARE_VALUE_RE.fullmatch(value):
        return value
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ValueError(f"value {value!r} contains both quote characters and cannot be written in CQL")


def to_cql(expr: Expr) -> str:
    """Print an expression back as CQL that parses to an equal tree (used in messages and tests)."""
    if isinstance(expr, Comparison):
        head = f"{expr.subject} {expr.op.value}"
        if expr.op in UNARY_OPS:
            return head
        if expr.op in LIST_OPS:
            return f"{head} [{', '.join(format_value(v) for v in expr.values)}]"
        return f"{head} {format_value(expr.values[0])}"
    if isinstance(expr, Not):
        return f"not ({to_cql(expr.operand)})"
    joiner = " and " if isinstance(expr, And) else " or "
    return joiner.join(f"({to_cql(o)})" if isinstance(o, And | Or) else to_cql(o) for o in expr.operands)
