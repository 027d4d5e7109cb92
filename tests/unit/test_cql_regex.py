"""Java regex translation: same results on the common subset, refusal where Python would differ."""

from __future__ import annotations

import pytest

from ecsk.core.cql import JavaRegexError, java_matches
from ecsk.core.cql.javaregex import translate


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("t2.*", "t2.small", True),
        ("t2.*", "m5.t2", False),  # whole-string match, as Java's String.matches
        ("g2\\..*", "g2.2xlarge", True),
        ("us-east-1[ab]", "us-east-1b", True),
        ("us-east-1[ab]", "us-east-1c", False),
        ("(?i)T2\\.SMALL", "t2.small", True),
        ("\\d+", "123", True),
        ("\\d+", "١٢٣", False),  # Java's \d is ASCII-only
        ("\\Qa.b\\E", "a.b", True),
        ("\\Qa.b\\E", "axb", False),
        ("\\Qa.b", "a.b", True),
        ("(?<zone>us)-\\k<zone>", "us-us", True),
        ("a\\x{41}", "aA", True),
        ("a++b", "aab", True),  # possessive quantifiers (Python >= 3.11)
        ("[]a]+", "]a", True),
        ("abc\\z", "abc", True),
        ("\\e", "\x1b", True),
    ],
)
def test_matches(pattern: str, value: str, expected: bool) -> None:
    assert java_matches(pattern, value) is expected


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("\\p{Alpha}+", "\\p{...}"),
        ("[a-z[0-9]]", "nested"),
        ("[a-z&&b]", "intersections"),
        ("\\h", "horizontal"),
        ("\\v", "vertical"),
        ("\\R", "linebreak"),
        ("(?P<x>a)", "Python syntax"),
        ("(?U)a", "inline flags"),
        ("(?x)a b", "inline flags"),
        ("a\\", "trailing backslash"),
        ("(", "invalid"),
        ("\\01", "octal"),
    ],
)
def test_refused(pattern: str, fragment: str) -> None:
    with pytest.raises(JavaRegexError) as info:
        java_matches(pattern, "x")
    assert fragment in str(info.value)


def test_translation_keeps_lookbehind() -> None:
    assert translate("(?<=a)b") == "(?<=a)b"
    assert translate("(?<!a)b") == "(?<!a)b"
    assert translate("(?<n>a)") == "(?P<n>a)"
