"""The five lab verbs over the engine and the API: what `ecsk lab ...` prints comes from here."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ecsk.labs import kube
from ecsk.labs.engine import EMBEDDED, REAL, Lab, LabError, ProbeError, namespace_for

SETTLE_SECONDS = 30


@dataclass
class Outcome:
    lines: list[str]
    ok: bool = True


def chosen(api: Any, lab: Lab) -> Lab:
    """The variant `start` recorded on the lab namespace (the embedded one when none is)."""
    if kube.variant(api, namespace_for(lab.number)) == REAL and lab.real is not None:
        return lab.real
    return lab


def _pick(api: Any, lab: Lab, ns: str, real: bool) -> Lab:
    """The variant `start` works on: `--real` asks for real containers; a started lab keeps
    the one it was started with (switching needs a reset: the task definitions differ)."""
    recorded = kube.variant(api, ns)
    if real and lab.real is None:
        raise LabError(
            f"lab {lab.number:02d} has no real-container variant: run `ecsk lab start {lab.number}`"
        )
    if recorded is not None and recorded != (REAL if real else EMBEDDED):
        raise LabError(
            f"lab {lab.number:02d} was started on its {recorded} variant: `ecsk lab reset {lab.number}` "
            "first to switch"
        )
    return lab.real if real and lab.real is not None else lab


def start(api: Any, lab: Lab, real: bool = False) -> Outcome:
    """Create the namespace and the starting objects; on a started lab, resume (create only
    what is missing, never undo the participant's changes). `real` picks the real-container
    variant, recorded on the namespace for the other verbs."""
    ns = namespace_for(lab.number)
    lab = _pick(api, lab, ns, real)
    fresh = kube.ensure_namespace(api, lab, ns)
    if fresh:
        kube.record_variant(api, ns, REAL if real else EMBEDDED)
    changed = _seed(api, lab, ns) if fresh and lab.needs_api else []
    changed += kube.apply(api, ns, lab.starting_objects(), replace=False)
    head = f"Lab {lab.number:02d}: {lab.title}  ({'started' if fresh else 'resumed'} in namespace {ns})"
    lines = [head, f"Runs on: {lab.runs_on}", f"Guide: {lab.guide}", "", f"Goal: {lab.goal}", "", "Steps:"]
    lines += [f"  {i}. {step.format(ns=ns)}" for i, step in enumerate(lab.steps, 1)]
    lines += ["", *changed, f"When done: ecsk lab check {lab.number}   (stuck? ecsk lab hint {lab.number})"]
    return Outcome(lines)


def _seed(api: Any, lab: Lab, ns: str) -> list[str]:
    """The lab's starting state made through the AWS API, all or nothing: when it fails, the fresh
    namespace goes again, so the next `start` is a fresh start that seeds, not a resume that
    would find half a starting state."""
    try:
        return kube.call_api(api, ns, lab.seed)
    except LabError:
        kube.delete_namespace(api, ns)
        raise


def check(api: Any, lab: Lab) -> Outcome:
    """The lab's problems; once the objects are right, a real-container variant also proves the
    behaviour in the running tasks (a command that fails there is a problem, never a crash)."""
    ns = namespace_for(lab.number)
    snap = kube.snapshot(api, ns)
    if snap.variant == REAL and lab.real is not None:
        lab = lab.real
    problems = lab.problems(snap)
    if not problems:
        try:
            problems = lab.live_problems(snap, kube.probes(api, ns))
        except ProbeError as exc:
            problems = [str(exc)]
    if not problems:
        return Outcome([f"Lab {lab.number:02d} passed: {lab.title}. Well done."])
    lines = [f"Lab {lab.number:02d} not done yet ({len(problems)} to fix):"]
    return Outcome(lines + [f"  - {p}" for p in problems], ok=False)


def hint(api: Any, lab: Lab) -> Outcome:
    """The next hint; the count shown lives on the namespace, so it survives between commands."""
    ns = namespace_for(lab.number)
    lab = chosen(api, lab)
    if kube.snapshot(api, ns).exists is False:
        return Outcome([f"Lab {lab.number:02d} is not started: ecsk lab start {lab.number}"], ok=False)
    shown = kube.hints_shown(api, ns)
    if shown >= len(lab.hints):
        return Outcome(
            [f"No more hints ({len(lab.hints)} shown). `ecsk lab solve {lab.number}` applies the answer."]
        )
    kube.record_hint(api, ns, shown + 1)
    return Outcome([f"Hint {shown + 1}/{len(lab.hints)}: {lab.hints[shown].format(ns=ns)}"])


def solve(api: Any, lab: Lab) -> Outcome:
    """Apply the reference answer (starting the lab first if needed)."""
    ns = namespace_for(lab.number)
    lab = chosen(api, lab)
    kube.ensure_namespace(api, lab, ns)
    kube.apply(api, ns, lab.starting_objects(), replace=False)
    snap = kube.snapshot(api, ns)
    deadline = time.monotonic() + SETTLE_SECONDS
    while not lab.settled(snap) and time.monotonic() < deadline:
        time.sleep(0.5)
        snap = kube.snapshot(api, ns)
    if not lab.settled(snap):
        lines = [
            f"the operator has not taken in lab {lab.number:02d}'s starting state after {SETTLE_SECONDS} s"
        ]
        return Outcome([*lines, "is it running? `ecsk cluster status`"], ok=False)
    changed = kube.put_values(api, ns, lab.solution_values())
    if lab.needs_api:
        changed += kube.call_api(api, ns, lab.api_answer)
    if changed:  # the answer's objects name what was just stored (a secret's ARN)
        snap = kube.snapshot(api, ns)
    changed += kube.label_nodes(api, ns, lab.solution_node_labels(snap))
    changed += kube.apply(api, ns, lab.solution_objects(snap), replace=True)
    changed += lab.cluster_answer(api, ns)
    lines = [f"Lab {lab.number:02d}: reference answer applied in {ns}", *changed]
    return Outcome([*lines, f"The operator needs a few seconds; then: ecsk lab check {lab.number}"])


def reset(api: Any, lab: Lab) -> Outcome:
    """Restore node labels, then delete the lab namespace; a second reset finds nothing to do."""
    ns = namespace_for(lab.number)
    lab = chosen(api, lab)
    restored = kube.restore_nodes(api, ns)
    if lab.needs_api and kube.snapshot(api, ns).exists:
        restored += kube.call_api(api, ns, lab.api_reset)
    providers = kube.provider_names(api, ns)
    classes = kube.claimed_storage_classes(api, ns)
    kube.delete_ecs_resources(api, ns)
    restored += kube.delete_provider_nodes(api, providers)
    deleted = kube.delete_namespace(api, ns)
    removed = kube.delete_fargate_nodes(api, ns) + kube.delete_claimed_volumes(api, ns)
    removed += kube.delete_unused_storage_classes(api, ns, classes)
    what = f"deleted namespace {ns}" if deleted else f"namespace {ns} is gone or going: nothing to delete"
    return Outcome([f"Lab {lab.number:02d} reset: {what}", *restored, *removed])
