"""AppRunnerAutoScalingConfiguration reconciler: give each object its revision number, report
App Runner's view of it in the status (ARN, Revision, Latest, ACTIVE/INACTIVE), and wake the
services that may use it.

The revision is a label (`ecs.ecsk.io/autoscaling-revision`): the API writes it when it creates
the object; a `kubectl apply`d object gets the next free number here. Numbers are handed out
under one lock (one operator per namespace), and an object whose number an older object of the
same name already holds (an API call racing the operator) gets the next one.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ecsk.controller.kube.client import API_VERSION
from ecsk.controller.runtime.common import Runtime, condition, merge_conditions
from ecsk.core.apprunner import scaling
from ecsk.core.apprunner.rules import message
from ecsk.core.models.errors import errors_of

KIND = scaling.KIND
PLURALS = {KIND: "apprunnerautoscalingconfigurations"}
_NUMBERING = threading.Lock()


def _number(rt: Runtime, body: Mapping[str, Any], siblings: list[dict[str, Any]]) -> dict[str, Any]:
    """The object with its revision label set (patched when it had none or a taken one)."""
    with _NUMBERING:
        number = scaling.assigned(body, siblings)
        if number == scaling.label_revision(body):
            return dict(body)
        meta = body["metadata"]
        out = rt.kube.merge_patch(
            API_VERSION,
            KIND,
            meta["name"],
            meta["namespace"],
            {"metadata": {"labels": {scaling.LABEL_REVISION: str(number)}}},
        )
        rt.remember(out)
        return out


def _wake(rt: Runtime, ns: str, name: str, me: str) -> None:
    """Other revisions of the name (their `Latest` may flip) and every App Runner service of the
    namespace (one may name this configuration, or wait for it)."""
    for other in rt.cached_all(KIND, ns):
        if other["metadata"]["name"] != me and scaling.spec_name(other) == name:
            rt.enqueue(KIND, ns, other["metadata"]["name"])
    for svc in rt.cached_all("AppRunnerService", ns):
        rt.enqueue("AppRunnerService", ns, svc["metadata"]["name"])


def _status(rt: Runtime, body: Mapping[str, Any], revs: list[scaling.Revision]) -> dict[str, Any]:
    mine = next((r for r in revs if r.object_name == body["metadata"]["name"]), None)
    if mine is None:
        return {}
    max_concurrency, lo, hi = mine.scaling
    return {
        "AutoScalingConfigurationArn": mine.arn(rt.config.region, rt.config.account),
        "AutoScalingConfigurationName": mine.name,
        "AutoScalingConfigurationRevision": mine.revision,
        "MaxConcurrency": max_concurrency,
        "MinSize": lo,
        "MaxSize": hi,
        "Latest": (mine.name, mine.revision) in scaling.latest(revs),
        "Status": "ACTIVE" if mine.active else "INACTIVE",
    }


def reconcile(rt: Runtime, body: Mapping[str, Any]) -> float | None:
    meta = body["metadata"]
    ns, name = meta["namespace"], meta["name"]
    raw = {"AutoScalingConfigurationName": name, **(body.get("spec") or {})}
    _, issues = scaling.check(raw)
    errors = errors_of(issues)
    prev = dict(body.get("status") or {})
    gen = meta.get("generation")
    if errors:
        text = message(errors)
        cond = condition(prev.get("conditions"), "Valid", False, "ValidationFailed", text, gen)
        if rt.kube.patch_status(body, {"conditions": merge_conditions(prev.get("conditions"), [cond])}):
            rt.kube.event(body, "InvalidRequestException", text, "Warning")
        return None
    siblings = rt.cached_all(KIND, ns)
    body = _number(rt, body, siblings)
    siblings = [body if b["metadata"]["name"] == name else b for b in siblings]
    status = _status(rt, body, scaling.revisions(siblings, rt.config.region, rt.config.account))
    cond = condition(prev.get("conditions"), "Valid", True, "Valid", "", gen)
    status["conditions"] = merge_conditions(prev.get("conditions"), [cond])
    status["observedGeneration"] = gen
    changed = any(
        prev.get(k) != status.get(k) for k in ("AutoScalingConfigurationRevision", "Latest", "Status")
    )
    out = rt.kube.patch_status(body, status)
    if out is not None:
        rt.remember(out)
    if changed:
        _wake(rt, ns, scaling.spec_name(body), name)
    return None


RECONCILERS = {KIND: reconcile}
