"""Warnings on a live cluster: input ECS accepts against its own documentation is reconciled,
and the warning shows in the Valid condition and one ValidationWarning event, never blocking."""

from __future__ import annotations

from typing import Any

import pykube
import pytest
import yaml
from kubectl import kubectl
from kubetest import wait_for

pytestmark = pytest.mark.integration

CR = "ecs.ecsk.io/v1alpha1"


def obj(api: pykube.HTTPClient, kind: str, ns: str, name: str) -> dict[str, Any]:
    cls = pykube.object_factory(api, CR, kind)
    return dict(cls.objects(api, namespace=ns).get(name=name).obj)


def valid(api: pykube.HTTPClient, kind: str, ns: str, name: str) -> dict[str, Any] | None:
    conds = (obj(api, kind, ns, name).get("status") or {}).get("conditions") or []
    return next((c for c in conds if c["type"] == "Valid"), None)


def warning_events(api: pykube.HTTPClient, ns: str, kind: str, name: str) -> list[str]:
    events = pykube.Event.objects(api, namespace=ns).filter(
        field_selector={
            "involvedObject.kind": kind,
            "involvedObject.name": name,
            "reason": "ValidationWarning",
        }
    )
    return [e.obj["message"] for e in events if e.obj.get("type") == "Warning"]


def test_warnings_are_reported_and_do_not_block(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    ns = operator_ns
    td = {
        "apiVersion": CR,
        "kind": "TaskDefinition",
        "metadata": {"name": "adot"},
        "spec": {
            "family": "adot",
            "containerDefinitions": [
                {
                    "name": "collector",
                    "image": "busybox",
                    "memory": 64,
                    "healthCheck": {"command": ["/healthcheck"], "interval": 5},
                }
            ],
        },
    }
    svc = {
        "apiVersion": CR,
        "kind": "ECSService",
        "metadata": {"name": "adot"},
        "spec": {
            "serviceName": "adot",
            "taskDefinition": "adot",
            "desiredCount": 1,
            "placementStrategy": [{"type": "random", "field": "cpu"}],
        },
    }
    kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=yaml.safe_dump_all([td, svc]))

    td_valid = wait_for(
        lambda: (c := valid(api, "TaskDefinition", ns, "adot")) and c["status"] == "True" and c,
        60,
        what="td valid",
    )
    assert td_valid["reason"] == "Registered"
    assert td_valid["message"].startswith("task definition is valid; warnings: containerDefinitions[0]")
    assert "passes it to Docker as given" in td_valid["message"]
    assert (obj(api, "TaskDefinition", ns, "adot")["status"] or {}).get("revision") == 1

    dep = wait_for(
        lambda: pykube.Deployment.objects(api, namespace=ns).get_or_none(name="adot"), 60, what="deployment"
    )
    probe = dep.obj["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    assert probe["exec"]["command"] == ["/healthcheck"]
    svc_valid = wait_for(
        lambda: (c := valid(api, "ECSService", ns, "adot")) and c["status"] == "True" and c,
        60,
        what="svc valid",
    )
    assert "; warnings: placementStrategy[0].field: For the random placement strategy" in svc_valid["message"]

    td_events = wait_for(
        lambda: warning_events(api, ns, "TaskDefinition", "adot"), 30, what="td warning event"
    )
    assert len(td_events) == 1 and "healthCheck.command" in td_events[0]
    svc_events = wait_for(lambda: warning_events(api, ns, "ECSService", "adot"), 30, what="svc warning event")
    assert len(svc_events) == 1 and "placementStrategy[0].field" in svc_events[0]
