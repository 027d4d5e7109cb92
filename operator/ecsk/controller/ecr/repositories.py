"""Repository reconciler: a Repository applied with kubectl gets ECR's verdict on its policies.

The API endpoint refuses a bad lifecycle or repository policy before it stores one; `kubectl
apply` goes straight to the apiserver, whose schema cannot read JSON inside a string. Without
this, such a policy would sit there doing nothing (the lifecycle pass skips it, the registry's
front door refuses every request it would govern) and nobody would say why. The condition and
the Warning event carry ECR's own sentence (InvalidParameterException).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecsk.controller.runtime.common import Runtime, condition, merge_conditions
from ecsk.core.ecr.validation import validate_repository
from ecsk.core.models.errors import issues_text

KIND = "Repository"
PLURALS = {KIND: "repositories"}


def reconcile(rt: Runtime, body: Mapping[str, Any]) -> float | None:
    meta = body["metadata"]
    issues = validate_repository(body.get("spec") or {})
    prev = (body.get("status") or {}).get("conditions")
    text = f"InvalidParameterException: {issues_text(issues)}" if issues else ""
    reason = "ValidationFailed" if issues else "Valid"
    cond = condition(prev, "Valid", not issues, reason, text, meta.get("generation"))
    out = rt.kube.patch_status(body, {"conditions": merge_conditions(prev, [cond])})
    if out is not None:
        rt.remember(out)
        if issues:
            rt.kube.event(body, "ValidationFailed", text, "Warning")
    return None


RECONCILERS = {KIND: reconcile}
