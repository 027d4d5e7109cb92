"""Java regular expressions (what ECS's `=~` / `!~` take) translated to Python `re`.

The common subset is identical, so the translation is mostly a copy; the point of this module is to
*refuse* the Java-only constructs whose Python reading would silently differ (`\\p{..}`, class
intersections, `\\v`, ...) instead of matching the wrong nodes. Matching is whole-string, as Java's
`String.matches` (ECS's own examples, `g2.*`, only make sense that way), and ASCII-only for `\\w`,
`\\d`, `\\s` and case folding, as Java's defaults are.
"""

from __future__ import annotations

import functools
import re

from ecsk.core.cql.errors import CQLError


class JavaRegexError(CQLError):
    """The pattern is not a Java regex ecsk can reproduce exactly."""


_REFUSED_ESCAPES = {
    "p": "Unicode/POSIX classes (\\p{...})",
    "P": "Unicode/POSIX classes (\\P{...})",
    "h": "horizontal whitespace (\\h)",
    "H": "non-horizontal whitespace (\\H)",
    "v": "vertical whitespace (\\v, which means something else in Python)",
    "V": "non-vertical whitespace (\\V)",
    "R": "linebreak matcher (\\R)",
    "X": "grapheme clusters (\\X)",
    "G": "end of previous match (\\G)",
    "N": "named characters (\\N{...})",
    "c": "control characters (\\cX)",
    "0": "octal escapes (\\0nn)",
    "b{": "grapheme boundaries (\\b{g})",
}
_JAVA_FLAGS = set("ims-")  # x: Java ignores blanks inside [...] too, Python does not
_INLINE_FLAGS_RE = re.compile(r"\(\?([A-Za-z-]+)([:)])")


def translate(pattern: str) -> str:
    """Return the Python spelling of a Java pattern, or raise `JavaRegexError` for constructs whose
    meaning would change."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise JavaRegexError(f"regex {pattern!r}: trailing backslash")
            d = pattern[i + 1]
            if d == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            if pattern.startswith("b{", i + 1):
                d = "b{"
            if d in _REFUSED_ESCAPES:
                raise JavaRegexError(f"regex {pattern!r}: {_REFUSED_ESCAPES[d]} is not supported")
            if d == "x" and pattern.startswith("{", i + 2):
                end = pattern.find("}", i + 3)
                if end < 0:
                    raise JavaRegexError(f"regex {pattern!r}: unterminated \\x{{...}}")
                try:
                    out.append(re.escape(chr(int(pattern[i + 3 : end], 16))))
                except ValueError as exc:
                    raise JavaRegexError(f"regex {pattern!r}: bad \\x{{...}} escape") from exc
                i = end + 1
                continue
            if not in_class:
                if d == "z":
                    out.append(r"\Z")
                    i += 2
                    continue
                if d == "Z":
                    out.append(r"(?=\n?\Z)")
                    i += 2
                    continue
                if d == "k" and pattern.startswith("<", i + 2):
                    end = pattern.find(">", i + 3)
                    if end < 0:
                        raise JavaRegexError(f"regex {pattern!r}: unterminated \\k<name>")
                    out.append(f"(?P={pattern[i + 3 : end]})")
                    i = end + 1
                    continue
            if d == "e":
                out.append(r"\x1b")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "[":
                raise JavaRegexError(
                    f"regex {pattern!r}: nested character classes (unions) are not supported"
                )
            if pattern.startswith("&&", i):
                raise JavaRegexError(
                    f"regex {pattern!r}: character class intersections (&&) are not supported"
                )
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):  # a leading ']' is a literal in both dialects
                out.append("\\]")
                i += 1
            continue
        if pattern.startswith("(?", i):
            if pattern.startswith("(?P", i):
                raise JavaRegexError(f"regex {pattern!r}: (?P...) is Python syntax, not Java")
            if pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
                out.append("(?P<")
                i += 3
                continue
            flags = _INLINE_FLAGS_RE.match(pattern, i)
            if flags and not set(flags.group(1)) <= _JAVA_FLAGS:
                raise JavaRegexError(
                    f"regex {pattern!r}: inline flags {flags.group(1)!r} are not supported (only i, m, s)"
                )
        out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def compile_java_regex(pattern: str) -> re.Pattern[str]:
    """Compile once per distinct pattern: evaluation runs a pattern against every node."""
    translated = translate(pattern)
    try:
        return re.compile(translated, re.ASCII)
    except re.error as exc:
        raise JavaRegexError(f"regex {pattern!r} is invalid: {exc}") from exc


def java_matches(pattern: str, value: str) -> bool:
    """`value.matches(pattern)` in Java: the whole value must match."""
    return compile_java_regex(pattern).fullmatch(value) is not None
