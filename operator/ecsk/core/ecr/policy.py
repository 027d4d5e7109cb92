"""ECR repository policies: the IAM resource policy of one repository, checked and evaluated.

Evaluation follows IAM's order for a resource policy on its own: an explicit `Deny` that matches
wins; otherwise a matching `Allow` grants; otherwise nothing does. ecsk has no identity policies,
so a repository *with* a policy lets in exactly what the policy allows, and one without lets in
every principal of the account (what an administrator's identity policy would). Statement
`Condition`s are refused rather than ignored: a condition ecsk cannot evaluate must not silently
widen access.

Principals: `"*"`, `{"AWS": ...}` with an account id, `arn:aws:iam::<account>:root` (every
principal of that account) or a user or role ARN (exactly that one). Actions: `ecr:<Name>`, with
`*` wildcards (`ecr:*`, `ecr:Batch*`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

INVALID = (
    "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'"
)
"""ECR's one message for a repository policy it refuses."""

PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
PUSH_ACTIONS = (
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:BatchCheckLayerAvailability",
)
_STATEMENT_KEYS = frozenset({"Sid", "Effect", "Principal", "Action"})


class RepositoryPolicyError(ValueError):
    """A policy ECR refuses; `str()` is ECR's message, `reason` says what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(INVALID)
        self.reason = reason


@dataclass(frozen=True)
class Statement:
    effect: str
    principals: tuple[str, ...]
    """`*`, account ids, or IAM ARNs."""
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    explicit_deny: bool = False


def _strings(value: Any, what: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
        raise RepositoryPolicyError(f"{what} must be a string or a list of strings")
    return tuple(items)


def _principals(value: Any) -> tuple[str, ...]:
    if value == "*":
        return ("*",)
    if not isinstance(value, dict) or set(value) != {"AWS"}:
        raise RepositoryPolicyError('Principal must be "*" or {"AWS": ...}')
    out = _strings(value["AWS"], "Principal.AWS")
    for p in out:
        if p != "*" and not (p.isdigit() and len(p) == 12) and not p.startswith("arn:aws:iam::"):
            raise RepositoryPolicyError(f"invalid principal {p}")
    return out


def _statement(raw: Any) -> Statement:
    if not isinstance(raw, dict):
        raise RepositoryPolicyError("a Statement must be an object")
    if "Condition" in raw:
        raise RepositoryPolicyError("ecsk does not evaluate Condition in repository policies")
    unknown = set(raw) - _STATEMENT_KEYS
    if unknown:
        raise RepositoryPolicyError(f"unsupported statement keys {sorted(unknown)}")
    if raw.get("Effect") not in ("Allow", "Deny"):
        raise RepositoryPolicyError("Effect must be Allow or Deny")
    if "Principal" not in raw or "Action" not in raw:
        raise RepositoryPolicyError("a statement needs Principal and Action")
    actions = _strings(raw["Action"], "Action")
    if any(not (a == "*" or a.lower().startswith("ecr:")) for a in actions):
        raise RepositoryPolicyError("a repository policy can only name ecr: actions")
    return Statement(raw["Effect"], _principals(raw["Principal"]), actions)


def parse(text: str) -> list[Statement]:
    try:
        doc = json.loads(text)
    except (TypeError, ValueError):
        raise RepositoryPolicyError("not JSON") from None
    if not isinstance(doc, dict) or "Statement" not in doc:
        raise RepositoryPolicyError("a policy is an object with a Statement")
    if doc.get("Version", "2012-10-17") not in ("2012-10-17", "2008-10-17"):
        raise RepositoryPolicyError("unknown Version")
    raw = doc["Statement"]
    statements = [_statement(s) for s in (raw if isinstance(raw, list) else [raw])]
    if not statements:
        raise RepositoryPolicyError("a policy needs at least one statement")
    return statements


@lru_cache(maxsize=256)
def _action_pattern(action: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(p) for p in action.split("*")), re.IGNORECASE)


def _names_principal(principals: tuple[str, ...], principal: str, account: str) -> bool:
    for p in principals:
        if p == "*" or p == principal:
            return True
        if p in (account, f"arn:aws:iam::{account}:root") and principal.startswith(
            f"arn:aws:iam::{account}:"
        ):
            return True
    return False


def decide(statements: list[Statement], principal: str, action: str, account: str) -> Decision:
    """Whether `principal` (an IAM ARN, or `*` for anonymous) may perform `action`."""
    matching = [
        s
        for s in statements
        if _names_principal(s.principals, principal, account)
        and any(_action_pattern(a).fullmatch(action) for a in s.actions)
    ]
    if any(s.effect == "Deny" for s in matching):
        return Decision(False, explicit_deny=True)
    return Decision(any(s.effect == "Allow" for s in matching))


def principal_arn(account: str, access_key: str) -> str:
    """The IAM user an access key ID stands for locally: `arn:aws:iam::<account>:user/<key id>`."""
    return f"arn:aws:iam::{account}:user/{access_key}"


def denial(principal: str, action: str, repository_arn: str, decision: Decision) -> str:
    """ECR's sentence (as Docker prints it after `denied:`)."""
    why = (
        "with an explicit deny in a resource-based policy"
        if decision.explicit_deny
        else f"because no resource-based policy allows the {action} action"
    )
    return f"User: {principal} is not authorized to perform: {action} on resource: {repository_arn} {why}"
