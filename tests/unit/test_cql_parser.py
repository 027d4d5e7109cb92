"""Parser: every documented form parses to the intended tree, and errors point at the right place."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecsk.core.cql import (
    And,
    Comparison,
    CQLSyntaxError,
    Not,
    Op,
    Or,
    Subject,
    SubjectKind,
    parse,
    to_cql,
)

ZONE = Subject(SubjectKind.ATTRIBUTE, "ecs.availability-zone")
ITYPE = Subject(SubjectKind.ATTRIBUTE, "ecs.instance-type")
GROUP = Subject(SubjectKind.TASK_GROUP)


def attr(name: str, op: Op, *values: str) -> Comparison:
    return Comparison(Subject(SubjectKind.ATTRIBUTE, name), op, values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("attribute:ecs.instance-type == t2.small", Comparison(ITYPE, Op.EQ, ("t2.small",))),
        (
            "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
            Comparison(ZONE, Op.IN, ("us-east-1a", "us-east-1b")),
        ),
        (
            "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
            And((Comparison(ITYPE, Op.MATCHES, ("g2.*",)), Comparison(ZONE, Op.NE, ("us-east-1d",)))),
        ),
        ("task:group == service:production", Comparison(GROUP, Op.EQ, ("service:production",))),
        ("not(task:group == database)", Not(Comparison(GROUP, Op.EQ, ("database",)))),
        (
            "ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']",
            Comparison(Subject(SubjectKind.EC2_INSTANCE_ID), Op.IN, ("i-abcd1234", "i-wxyx7890")),
        ),
        ("runningTasksCount == 1", Comparison(Subject(SubjectKind.RUNNING_TASKS_COUNT), Op.EQ, ("1",))),
        ("attribute:ecs.instance-type =~ t2.*", Comparison(ITYPE, Op.MATCHES, ("t2.*",))),
        (
            "registeredAt < 2018-06-18T22:28:28+00:00",
            Comparison(Subject(SubjectKind.REGISTERED_AT), Op.LT, ("2018-06-18T22:28:28+00:00",)),
        ),
        ("registeredAt < 2018-02-13", Comparison(Subject(SubjectKind.REGISTERED_AT), Op.LT, ("2018-02-13",))),
        ("agentVersion < 1.14.5", Comparison(Subject(SubjectKind.AGENT_VERSION), Op.LT, ("1.14.5",))),
        ("agentConnected == false", Comparison(Subject(SubjectKind.AGENT_CONNECTED), Op.EQ, ("false",))),
        ("attribute:stack != prod", attr("stack", Op.NE, "prod")),
    ],
)
def test_reference_examples(text: str, expected: object) -> None:
    assert parse(text) == expected


OPERATOR_SPELLINGS = [
    (Op.EQ, ["==", "equals", "EQUALS"]),
    (Op.NE, ["!=", "not_equals", "Not_Equals"]),
    (Op.GT, [">", "greater_than"]),
    (Op.GE, [">=", "greater_than_equal"]),
    (Op.LT, ["<", "less_than"]),
    (Op.LE, ["<=", "less_than_equal"]),
    (Op.MATCHES, ["=~", "matches"]),
    (Op.NOT_MATCHES, ["!~", "not_matches"]),
]


@pytest.mark.parametrize(("op", "spellings"), OPERATOR_SPELLINGS)
def test_binary_operators_in_both_forms(op: Op, spellings: list[str]) -> None:
    for spelling in spellings:
        assert parse(f"attribute:a {spelling} 5") == attr("a", op, "5")
        if not spelling[0].isalpha():  # symbols need no blanks around them
            assert parse(f"attribute:a{spelling}5") == attr("a", op, "5")


@pytest.mark.parametrize(
    ("spelling", "op"),
    [("in", Op.IN), ("IN", Op.IN), ("!in", Op.NOT_IN), ("not_in", Op.NOT_IN), ("NOT_IN", Op.NOT_IN)],
)
def test_list_operators(spelling: str, op: Op) -> None:
    assert parse(f"attribute:a {spelling} [x, 'y z', \"w,v\"]") == attr("a", op, "x", "y z", "w,v")
    assert parse(f"attribute:a {spelling} [x]") == attr("a", op, "x")


@pytest.mark.parametrize(
    ("spelling", "op"),
    [("exists", Op.EXISTS), ("Exists", Op.EXISTS), ("!exists", Op.NOT_EXISTS), ("not_exists", Op.NOT_EXISTS)],
)
def test_unary_operators(spelling: str, op: Op) -> None:
    assert parse(f"attribute:a {spelling}") == attr("a", op)


def test_quoting_keeps_content_verbatim() -> None:
    assert parse("attribute:a == 'x y'") == attr("a", Op.EQ, "x y")
    assert parse('attribute:a == "it\'s"') == attr("a", Op.EQ, "it's")
    assert parse("attribute:a =~ '(t2|m5)\\..*'") == attr("a", Op.MATCHES, "(t2|m5)\\..*")
    assert parse("attribute:a == ''") == attr("a", Op.EQ, "")
    # Keywords are just values where a value is expected.
    assert parse("attribute:a == and") == attr("a", Op.EQ, "and")


def test_attribute_names() -> None:
    assert parse("attribute:team/app_1.x-y\\z exists") == attr("team/app_1.x-y\\z", Op.EXISTS)
    assert parse(f"attribute:{'a' * 128} exists") == attr("a" * 128, Op.EXISTS)
    with pytest.raises(CQLSyntaxError, match="1 to 128") as info:
        parse(f"attribute:{'a' * 129} exists")
    assert info.value.column == len("attribute:") + 1


A, B, C = (attr(n, Op.EXISTS) for n in "abc")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("attribute:a exists or attribute:b exists and attribute:c exists", Or((A, And((B, C))))),
        ("attribute:a exists and attribute:b exists or attribute:c exists", Or((And((A, B)), C))),
        ("(attribute:a exists or attribute:b exists) and attribute:c exists", And((Or((A, B)), C))),
        ("not attribute:a exists and attribute:b exists", And((Not(A), B))),
        ("!attribute:a exists || attribute:b exists && attribute:c exists", Or((Not(A), And((B, C))))),
        ("not (attribute:a exists or attribute:b exists)", Not(Or((A, B)))),
        ("NOT NOT attribute:a exists", Not(Not(A))),
        ("attribute:a exists AND attribute:b exists OR attribute:c exists", Or((And((A, B)), C))),
        ("((attribute:a exists))", A),
        ("attribute:a exists\n  and\tattribute:b exists", And((A, B))),
    ],
)
def test_precedence_and_parentheses(text: str, expected: object) -> None:
    assert parse(text) == expected


def test_round_trip_printing() -> None:
    text = "attribute:a == 'x y' and not (task:group in [service:web, b] or attribute:c !exists)"
    assert parse(to_cql(parse(text))) == parse(text)


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("attribute:x ==", 15, "expected a value"),
        ("attribute:x = 3", 13, "expected an operator"),
        ("attribute:x == a and", 21, "expected a subject"),
        ("(attribute:x == a", 18, "expected ')'"),
        ("attribute:x in a", 16, "expected '['"),
        ("attribute:x == a b", 18, "expected 'and'/'&&', 'or'/'||', end of expression"),
        ("attribute:x in [a b]", 19, "expected ',' or ']'"),
        ("attribute:x in []", 17, "expected a value"),
        ("foo == bar", 1, "expected a subject"),
        ("attribute:x == 'a", 16, "expected a value"),
        ("runningTasksCount in [1]", 19, "not valid for runningTasksCount"),
        ("ec2InstanceId > 3", 15, "not valid for ec2InstanceId"),
        ("task:group > 3", 12, "not valid for task:group"),
        ("registeredAt < yesterday", 16, "is not a date"),
        ("registeredAt < 2018-13-01", 16, "is not a date"),
        ("runningTasksCount == -1", 22, "non-negative integer"),
        ("agentVersion < latest", 16, "agent version"),
        ("attribute:x > t2", 15, "is not an integer"),
        ("attribute:x =~ '\\p{L}+'", 16, "Unicode/POSIX"),
        ("attribute:x =~ '(unclosed'", 16, "invalid"),
    ],
)
def test_errors_point_at_the_problem(text: str, column: int, fragment: str) -> None:
    with pytest.raises(CQLSyntaxError) as info:
        parse(text)
    err = info.value
    assert fragment in str(err)
    assert (err.line, err.column) == (1, column)
    assert err.caret_line == " " * (column - 1) + "^"
    assert err.source_line == text
    assert err.caret_line in str(err)


def test_error_on_second_line() -> None:
    with pytest.raises(CQLSyntaxError) as info:
        parse("attribute:x == a and\n   attribute:y ==")
    assert (info.value.line, info.value.column) == (2, 18)
    assert info.value.source_line == "   attribute:y =="


def test_empty_and_too_long() -> None:
    with pytest.raises(CQLSyntaxError, match="empty"):
        parse("   ")
    with pytest.raises(CQLSyntaxError, match="at most 2000"):
        parse("attribute:x in [" + ", ".join(["abcdefgh"] * 300) + "]")


def test_spans_are_recorded_but_not_compared() -> None:
    parsed = parse("  attribute:a == b")
    assert isinstance(parsed, Comparison)
    assert parsed.span is not None
    assert (parsed.span.start, parsed.span.end) == (2, 18)
    assert parsed == attr("a", Op.EQ, "b")


_FRAGMENTS = [
    "attribute:a",
    "task:group",
    "ec2InstanceId",
    "registeredAt",
    "runningTasksCount",
    "agentVersion",
    "==",
    "!=",
    "in",
    "!in",
    "exists",
    "=~",
    ">",
    "and",
    "or",
    "not",
    "!",
    "(",
    ")",
    "[",
    "]",
    ",",
    "'x y'",
    '"',
    "1",
    "2018-06-18",
    "1.2.3",
    "t2.*",
    "\\",
    "&&",
    "||",
    ":",
]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=3)), max_size=12))
def test_any_input_parses_or_raises_a_syntax_error(fragments: list[str]) -> None:
    text = " ".join(fragments)
    try:
        expr = parse(text)
    except CQLSyntaxError as exc:
        assert 1 <= exc.column <= len(exc.source_line) + 1
        return
    assert parse(to_cql(expr)) == expr
