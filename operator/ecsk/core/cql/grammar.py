"""The CQL grammar, in Lark's EBNF, and human names for its terminals.

LALR with Lark's contextual lexer: a bare value like `and` or `g2.*` is only lexed as a value where a
value can appear, so keywords need no reserved-word list. Word operators are case-insensitive (the
ECS guide only shows lower case; accepting any case costs nothing and never changes a meaning).
Precedence, loosest first: or, and, not.
"""

from __future__ import annotations

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr -> negation
         | atom
?atom: comparison
     | _LPAR or_expr _RPAR

comparison: subject binop value
          | subject listop list
          | subject unop

subject: ATTRIBUTE | EC2_INSTANCE_ID | REGISTERED_AT | RUNNING_TASKS_COUNT
       | TASK_GROUP | AGENT_CONNECTED | AGENT_VERSION

binop: EQ_SYM | EQ_WORD | NE_SYM | NE_WORD
     | GT_SYM | GT_WORD | GE_SYM | GE_WORD
     | LT_SYM | LT_WORD | LE_SYM | LE_WORD
     | MATCHES_SYM | MATCHES_WORD | NOT_MATCHES_SYM | NOT_MATCHES_WORD
listop: IN_WORD | NOT_IN_SYM | NOT_IN_WORD
unop: EXISTS_WORD | NOT_EXISTS_SYM | NOT_EXISTS_WORD

value: BARE | QUOTED
list: _LSQB value (_COMMA value)* _RSQB

ATTRIBUTE: /attribute:[A-Za-z0-9_\-\/.\\]+/
EC2_INSTANCE_ID: /ec2InstanceId(?![A-Za-z0-9_:])/
REGISTERED_AT: /registeredAt(?![A-Za-z0-9_:])/
RUNNING_TASKS_COUNT: /runningTasksCount(?![A-Za-z0-9_:])/
TASK_GROUP: /task:group(?![A-Za-z0-9_:])/
AGENT_CONNECTED: /agentConnected(?![A-Za-z0-9_:])/
AGENT_VERSION: /agentVersion(?![A-Za-z0-9_:])/

EQ_SYM: "=="
NE_SYM: "!="
GE_SYM: ">="
GT_SYM: ">"
LE_SYM: "<="
LT_SYM: "<"
MATCHES_SYM: "=~"
NOT_MATCHES_SYM: "!~"
NOT_IN_SYM: "!in"
NOT_EXISTS_SYM: "!exists"
EQ_WORD: /equals\b/i
NE_WORD: /not_equals\b/i
GT_WORD: /greater_than\b/i
GE_WORD: /greater_than_equal\b/i
LT_WORD: /less_than\b/i
LE_WORD: /less_than_equal\b/i
MATCHES_WORD: /matches\b/i
NOT_MATCHES_WORD: /not_matches\b/i
IN_WORD: /in\b/i
NOT_IN_WORD: /not_in\b/i
EXISTS_WORD: /exists\b/i
NOT_EXISTS_WORD: /not_exists\b/i

_AND: "&&" | /and\b/i
_OR: "||" | /or\b/i
_NOT: "!" | /not\b/i
_LPAR: "("
_RPAR: ")"
_LSQB: "["
_RSQB: "]"
_COMMA: ","

BARE: /[^\s,\[\]()'"&|]+/
QUOTED: /'[^']*'/ | /"[^"]*"/

%ignore /\s+/
"""

# How each terminal is named in "expected ..." messages.
TERMINAL_NAMES: dict[str, str] = {
    "ATTRIBUTE": "attribute:<name>",
    "EC2_INSTANCE_ID": "ec2InstanceId",
    "REGISTERED_AT": "registeredAt",
    "RUNNING_TASKS_COUNT": "runningTasksCount",
    "TASK_GROUP": "task:group",
    "AGENT_CONNECTED": "agentConnected",
    "AGENT_VERSION": "agentVersion",
    "EQ_SYM": "'=='",
    "NE_SYM": "'!='",
    "GE_SYM": "'>='",
    "GT_SYM": "'>'",
    "LE_SYM": "'<='",
    "LT_SYM": "'<'",
    "MATCHES_SYM": "'=~'",
    "NOT_MATCHES_SYM": "'!~'",
    "NOT_IN_SYM": "'!in'",
    "NOT_EXISTS_SYM": "'!exists'",
    "EQ_WORD": "'equals'",
    "NE_WORD": "'not_equals'",
    "GT_WORD": "'greater_than'",
    "GE_WORD": "'greater_than_equal'",
    "LT_WORD": "'less_than'",
    "LE_WORD": "'less_than_equal'",
    "MATCHES_WORD": "'matches'",
    "NOT_MATCHES_WORD": "'not_matches'",
    "IN_WORD": "'in'",
    "NOT_IN_WORD": "'not_in'",
    "EXISTS_WORD": "'exists'",
    "NOT_EXISTS_WORD": "'not_exists'",
    "_AND": "'and'/'&&'",
    "_OR": "'or'/'||'",
    "_NOT": "'not'/'!'",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_LSQB": "'['",
    "_RSQB": "']'",
    "_COMMA": "','",
    "BARE": "a value",
    "QUOTED": "a quoted value",
    "$END": "end of expression",
}

# Groups collapsed in messages so "expected" lists stay short and readable.
TERMINAL_GROUPS: tuple[tuple[frozenset[str], str], ...] = (
    (
        frozenset(
            {"ATTRIBUTE", "EC2_INSTANCE_ID", "REGISTERED_AT", "RUNNING_TASKS_COUNT"}
            | {"TASK_GROUP", "AGENT_CONNECTED", "AGENT_VERSION"}
        ),
        "a subject (attribute:<name>, ec2InstanceId, registeredAt, runningTasksCount, task:group, "
        "agentConnected, agentVersion)",
    ),
    (
        frozenset(
            {"EQ_SYM", "EQ_WORD", "NE_SYM", "NE_WORD", "GT_SYM", "GT_WORD", "GE_SYM", "GE_WORD"}
            | {"LT_SYM", "LT_WORD", "LE_SYM", "LE_WORD", "MATCHES_SYM", "MATCHES_WORD"}
            | {"NOT_MATCHES_SYM", "NOT_MATCHES_WORD", "IN_WORD", "NOT_IN_SYM", "NOT_IN_WORD"}
            | {"EXISTS_WORD", "NOT_EXISTS_SYM", "NOT_EXISTS_WORD"}
        ),
        "an operator (==, !=, >, >=, <, <=, exists, !exists, in, !in, =~, !~ or their word forms)",
    ),
    (frozenset({"BARE", "QUOTED"}), "a value"),
)
