"""Text -> `Expr`, with errors that point at the offending character.

The Lark parser is built once at import (LALR tables are cached in-process), so parsing is a cheap,
allocation-light call suitable for every reconcile. Checks that depend on the subject (which
operators it takes, whether the argument must be a date, an integer, a version or a valid regex)
run here too, so a bad argument is reported at its position and the evaluator and the compiler can
both assume a well-formed tree.
"""

from __future__ import annotations

import functools

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ecsk.core.cql.ast import (
    ORDERED_OPS,
    REGEX_OPS,
    And,
    Comparison,
    Expr,
    Not,
    Op,
    Or,
    Span,
    Subject,
    SubjectKind,
)
from ecsk.core.cql.errors import CQLSyntaxError
from ecsk.core.cql.grammar import GRAMMAR, TERMINAL_GROUPS, TERMINAL_NAMES
from ecsk.core.cql.javaregex import JavaRegexError, compile_java_regex
from ecsk.core.cql.values import agent_version_code, parse_date, parse_int64

MAX_EXPRESSION_LENGTH = 2000  # ECS API limit on PlacementConstraint.expression
MAX_ATTRIBUTE_NAME_LENGTH = 128

_LARK = Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)

_SUBJECTS = {
    "EC2_INSTANCE_ID": SubjectKind.EC2_INSTANCE_ID,
    "REGISTERED_AT": SubjectKind.REGISTERED_AT,
    "RUNNING_TASKS_COUNT": SubjectKind.RUNNING_TASKS_COUNT,
    "TASK_GROUP": SubjectKind.TASK_GROUP,
    "AGENT_CONNECTED": SubjectKind.AGENT_CONNECTED,
    "AGENT_VERSION": SubjectKind.AGENT_VERSION,
}
_OPS = {
    "EQ": Op.EQ,
    "NE": Op.NE,
    "GT": Op.GT,
    "GE": Op.GE,
    "LT": Op.LT,
    "LE": Op.LE,
    "MATCHES": Op.MATCHES,
    "NOT_MATCHES": Op.NOT_MATCHES,
    "IN": Op.IN,
    "NOT_IN": Op.NOT_IN,
    "EXISTS": Op.EXISTS,
    "NOT_EXISTS": Op.NOT_EXISTS,
}

_ALL_OPS = frozenset(Op)
# Valid operators per subject, from the ECS developer guide. Attributes take every operator;
# task:group takes the ones that have a meaning for "the groups of the tasks on the instance".
VALID_OPS: dict[SubjectKind, frozenset[Op]] = {
    SubjectKind.ATTRIBUTE: _ALL_OPS,
    SubjectKind.AGENT_CONNECTED: frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.MATCHES, Op.NOT_MATCHES}),
    SubjectKind.EC2_INSTANCE_ID: frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.MATCHES, Op.NOT_MATCHES}),
    SubjectKind.AGENT_VERSION: frozenset({Op.EQ, Op.NE}) | ORDERED_OPS,
    SubjectKind.REGISTERED_AT: frozenset({Op.EQ, Op.NE}) | ORDERED_OPS,
    SubjectKind.RUNNING_TASKS_COUNT: frozenset({Op.EQ, Op.NE}) | ORDERED_OPS,
    SubjectKind.TASK_GROUP: _ALL_OPS - ORDERED_OPS,
}


def parse(text: str) -> Expr:
    """Parse a memberOf expression; raises `CQLSyntaxError` with line, column and a caret line."""
    if not text.strip():
        raise CQLSyntaxError("empty expression: expected a subject", text, 0)
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise CQLSyntaxError(
            f"expression is {len(text)} characters long; ECS allows at most {MAX_EXPRESSION_LENGTH}",
            text,
            MAX_EXPRESSION_LENGTH,
        )
    return _parse_cached(text)


@functools.lru_cache(maxsize=512)
def _parse_cached(text: str) -> Expr:
    # Trees are immutable, so the operator re-reconciling the same expressions pays nothing.
    try:
        tree = _LARK.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    return _build(tree, text)


def _describe_expected(expected: set[str]) -> tuple[str, ...]:
    remaining = {name for name in expected if not name.startswith("__")}
    parts: list[str] = []
    for members, label in TERMINAL_GROUPS:
        if members <= remaining or (remaining & members and label == "a value"):
            parts.append(label)
            remaining -= members
    parts.extend(sorted(TERMINAL_NAMES.get(name, name) for name in remaining))
    return tuple(parts)


def _syntax_error(exc: UnexpectedInput, text: str) -> CQLSyntaxError:
    if isinstance(exc, UnexpectedCharacters):
        expected = _describe_expected(set(exc.allowed or ()))
        pos = exc.pos_in_stream or 0
        found = repr(text[pos : pos + 1])
    elif isinstance(exc, UnexpectedToken):
        # `accepts` replays pending reductions, so it lists only what can really come next.
        expected = _describe_expected(set(getattr(exc, "accepts", None) or exc.expected or ()))
        token = exc.token
        if token.type == "$END":
            found, pos = "end of expression", len(text.rstrip())
        else:
            found = repr(str(token))
            pos = token.start_pos if token.start_pos is not None else len(text)
    elif isinstance(exc, UnexpectedEOF):
        expected = _describe_expected(set(exc.expected or ()))
        found, pos = "end of expression", len(text.rstrip())
    else:  # pragma: no cover - lark has no other UnexpectedInput subclasses
        expected, found, pos = (), "unexpected input", 0
    message = f"unexpected {found}"
    if expected:
        message += f"; expected {' or '.join(expected) if len(expected) <= 2 else ', '.join(expected)}"
    return CQLSyntaxError(message, text, pos, expected)


def _build(node: Tree | Token, text: str) -> Expr:
    assert isinstance(node, Tree)
    if node.data == "or_expr":
        return Or(tuple(_build(child, text) for child in node.children))
    if node.data == "and_expr":
        return And(tuple(_build(child, text) for child in node.children))
    if node.data == "negation":
        return Not(_build(node.children[0], text))
    if node.data == "comparison":
        return _comparison(node, text)
    raise AssertionError(f"unexpected parse node {node.data}")  # pragma: no cover


def _token(tree: Tree) -> Token:
    token = tree.children[0]
    assert isinstance(token, Token)
    return token


def _value(tree: Tree) -> tuple[str, Token]:
    token = _token(tree)
    raw = str(token)
    return (raw[1:-1] if token.type == "QUOTED" else raw), token


def _comparison(node: Tree, text: str) -> Comparison:
    subject_tree, op_tree, *rest = node.children
    assert isinstance(subject_tree, Tree) and isinstance(op_tree, Tree)
    subject_token = _token(subject_tree)
    op_token = _token(op_tree)
    if subject_token.type == "ATTRIBUTE":
        name = str(subject_token)[len("attribute:") :]
        if len(name) > MAX_ATTRIBUTE_NAME_LENGTH:
            raise CQLSyntaxError(
                f"attribute name is {len(name)} characters long; ECS allows 1 to {MAX_ATTRIBUTE_NAME_LENGTH}",
                text,
                _start(subject_token) + len("attribute:"),
            )
        subject = Subject(SubjectKind.ATTRIBUTE, name)
    else:
        subject = Subject(_SUBJECTS[subject_token.type])
    op = _OPS[op_token.type.rsplit("_", 1)[0]]
    if op not in VALID_OPS[subject.kind]:
        valid = ", ".join(o.value for o in Op if o in VALID_OPS[subject.kind])
        raise CQLSyntaxError(
            f"operator {str(op_token)!r} is not valid for {subject}; valid operators: {valid}",
            text,
            _start(op_token),
        )
    values: list[tuple[str, Token]] = []
    if rest:
        arg = rest[0]
        assert isinstance(arg, Tree)
        if arg.data == "list":
            values = [_value(child) for child in arg.children if isinstance(child, Tree)]
        else:
            values = [_value(arg)]
    for value, token in values:
        _check_argument(subject, op, value, token, text)
    end = values[-1][1].end_pos if values else op_token.end_pos
    return Comparison(
        subject,
        op,
        tuple(v for v, _ in values),
        Span(_start(subject_token), end if end is not None else len(text)),
    )


def _start(token: Token) -> int:
    return token.start_pos if token.start_pos is not None else 0


def _check_argument(subject: Subject, op: Op, value: str, token: Token, text: str) -> None:
    def fail(reason: str) -> CQLSyntaxError:
        return CQLSyntaxError(f"{subject} {op.value}: {reason}", text, _start(token))

    if op in REGEX_OPS:
        try:
            compile_java_regex(value)
        except JavaRegexError as exc:
            raise fail(str(exc)) from None
        return
    kind = subject.kind
    if kind is SubjectKind.REGISTERED_AT and parse_date(value) is None:
        raise fail(
            f"{value!r} is not a date; use 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, "
            "2018-06-18T22:28:28 or 2018-06-18"
        )
    if kind is SubjectKind.RUNNING_TASKS_COUNT and (
        parse_int64(value) is None or value.startswith(("+", "-"))
    ):
        raise fail(f"{value!r} is not a task count (a non-negative integer)")
    if kind is SubjectKind.AGENT_VERSION and agent_version_code(value) is None:
        raise fail(f"{value!r} is not an agent version like 1.14.5 (each part at most 999)")
    if kind is SubjectKind.ATTRIBUTE and op in ORDERED_OPS and parse_int64(value) is None:
        raise fail(
            f"{value!r} is not an integer; ecsk orders attribute values as 64-bit integers only "
            "(Kubernetes Gt/Lt), so other ordered comparisons are refused"
        )
