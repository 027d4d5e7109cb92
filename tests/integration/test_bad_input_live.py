"""The bad-input corpus against a live cluster, all at once, beside a healthy service.

Each case is refused where its header says: by the apiserver (CRD schema or CEL), with the
message it names; or, once admitted, by the operator: `Valid=False`, reason `ValidationFailed`,
the message in the condition and in one Warning event. Meanwhile the operator must not restart
or log a traceback, and the healthy service applied alongside must reach steady state.
"""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pykube
import pytest
import requests
import yaml
from kubectl import kubectl
from kubetest import OperatorProcess, wait_for

from bad_input import BadInput, corpus, support
from conftest import OPERATORS

pytestmark = pytest.mark.integration

CR = "ecs.ecsk.io/v1alpha1"
CASES = corpus()


def _apply(kubeconfig: str, ns: str, case: BadInput) -> tuple[BadInput, int, str]:
    proc = kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=yaml.safe_dump(case.doc), check=False)
    return case, proc.returncode, proc.stderr


def _valid_conditions(api: pykube.HTTPClient, ns: str) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for kind in sorted({c.kind for c in CASES}):
        for obj in pykube.object_factory(api, CR, kind).objects(api, namespace=ns):
            conds = (obj.obj.get("status") or {}).get("conditions") or []
            valid = next((c for c in conds if c.get("type") == "Valid"), None)
            if valid is not None:
                out[(kind, obj.name)] = valid
    return out


def _warnings(api: pykube.HTTPClient, ns: str) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for event in pykube.Event.objects(api, namespace=ns):
        if event.obj.get("type") == "Warning":
            ref = event.obj["involvedObject"]
            out[(ref.get("kind"), ref.get("name"))].append(event.obj.get("message") or "")
    return out


def _status_outcome(case: BadInput, valid: dict[str, Any] | None, warnings: list[str]) -> str | None:
    """None when the operator refused `case` as its header says, else what is still missing."""
    if valid is None:
        return "no Valid condition"
    if (valid["status"], valid["reason"]) != ("False", "ValidationFailed"):
        return f"Valid={valid['status']} ({valid['reason']}): {valid['message']}"
    if case.message not in valid["message"]:
        return f"condition message lacks {case.message!r}: {valid['message']}"
    if not any(case.message in w for w in warnings):
        return f"no Warning event with {case.message!r} (events: {warnings})"
    return None


def _steady(api: pykube.HTTPClient, ns: str, name: str, n: int) -> bool:
    svc = pykube.object_factory(api, CR, "ECSService").objects(api, namespace=ns).get(name=name)
    st = svc.obj.get("status") or {}
    return st.get("runningCount") == n and any(
        c["type"] == "SteadyState" and c["status"] == "True" for c in st.get("conditions") or []
    )


def test_corpus_is_refused_and_the_operator_survives(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    ns = operator_ns
    op: OperatorProcess = OPERATORS[ns]
    assert op.proc is not None and op.log_path is not None
    pid = op.proc.pid
    started = time.monotonic()
    kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=yaml.safe_dump_all(support()))
    with ThreadPoolExecutor(4) as pool:
        applied = list(pool.map(lambda c: _apply(kubeconfig, ns, c), CASES))

    wrong = []
    for case, code, stderr in applied:
        if case.expect == "admission" and (code == 0 or case.message not in stderr):
            wrong.append(f"{case.id}: expected admission refusal with {case.message!r}, got {code}: {stderr}")
        if case.expect == "status" and code != 0:
            wrong.append(f"{case.id}: expected admission, refused: {stderr}")
    assert wrong == [], "\n".join(wrong)

    pending = [c for c in CASES if c.expect == "status"]

    def refused_in_status() -> bool:
        try:
            valid, warnings = _valid_conditions(api, ns), _warnings(api, ns)
        except requests.HTTPError as exc:  # 429: the shared apiserver is busy; ask again
            refused_in_status.last = [str(exc)]  # type: ignore[attr-defined]
            return False
        still = []
        for case in pending:
            problem = _status_outcome(
                case, valid.get((case.kind, case.name)), warnings[(case.kind, case.name)]
            )
            if problem:
                still.append(f"{case.id}: {problem}")
        refused_in_status.last = still  # type: ignore[attr-defined]
        return not still

    try:
        wait_for(refused_in_status, 90, interval=2, what="every status case refused")
    except AssertionError:
        pytest.fail("\n".join(refused_in_status.last))  # type: ignore[attr-defined]
    wait_for(lambda: _steady(api, ns, "corpus-healthy", 3), 90, what="the healthy service steady")

    assert op.proc.poll() is None and op.proc.pid == pid, "the operator exited or was restarted"
    log = op.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[log.index("Traceback") - 2000 : log.index("Traceback") + 3000]
    events = sum(len(v) for v in _warnings(api, ns).values())
    assert events <= 2 * len(pending), f"{events} Warning events for {len(pending)} refusals: an event storm"
    assert time.monotonic() - started < 120
