"""ECS Cluster Query Language (memberOf expressions): parse, evaluate, compile to Kubernetes terms.

Pure code (no Kubernetes client): the operator feeds it plain data and applies the dicts it returns.
See docs/cql.md for the grammar, the mapping table and what is refused.
"""

from __future__ import annotations

from ecsk.core.cql.ast import And, Comparison, Expr, Not, Op, Or, Span, Subject, SubjectKind, to_cql
from ecsk.core.cql.compiler import (
    DEFAULT_MAX_TERMS,
    UNSATISFIABLE_TERM,
    CompiledPlacement,
    combine,
    compile_expression,
    compile_expressions,
)
from ecsk.core.cql.errors import CQLCompileError, CQLEncodingError, CQLError, CQLSyntaxError
from ecsk.core.cql.evaluate import evaluate
from ecsk.core.cql.javaregex import JavaRegexError, java_matches
from ecsk.core.cql.kube import node_matches, pod_affinity_allows, requirement_matches
from ecsk.core.cql.labels import (
    AGENT_CONNECTED_LABEL,
    AGENT_VERSION_LABEL,
    ATTRIBUTE_LABEL_PREFIX,
    REGISTERED_AT_LABEL,
    RUNNING_TASKS_COUNT_LABEL,
    TASK_GROUP_LABEL,
    UNSATISFIABLE_LABEL,
    WELL_KNOWN_ATTRIBUTE_LABELS,
    attribute_label_key,
    attribute_label_value,
    encode_label_text,
    node_labels,
    task_group_label_value,
)
from ecsk.core.cql.parser import parse
from ecsk.core.cql.values import agent_version_code
from ecsk.core.cql.view import NodeView

__all__ = [
    "AGENT_CONNECTED_LABEL",
    "AGENT_VERSION_LABEL",
    "ATTRIBUTE_LABEL_PREFIX",
    "DEFAULT_MAX_TERMS",
    "REGISTERED_AT_LABEL",
    "RUNNING_TASKS_COUNT_LABEL",
    "TASK_GROUP_LABEL",
    "UNSATISFIABLE_LABEL",
    "UNSATISFIABLE_TERM",
    "WELL_KNOWN_ATTRIBUTE_LABELS",
    "And",
    "CQLCompileError",
    "CQLEncodingError",
    "CQLError",
    "CQLSyntaxError",
    "Comparison",
    "CompiledPlacement",
    "Expr",
    "JavaRegexError",
    "NodeView",
    "Not",
    "Op",
    "Or",
    "Span",
    "Subject",
    "SubjectKind",
    "agent_version_code",
    "attribute_label_key",
    "attribute_label_value",
    "combine",
    "compile_expression",
    "compile_expressions",
    "encode_label_text",
    "evaluate",
    "java_matches",
    "node_labels",
    "node_matches",
    "parse",
    "pod_affinity_allows",
    "requirement_matches",
    "task_group_label_value",
    "to_cql",
]
