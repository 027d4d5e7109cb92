"""TaskDefinition revisions on a live cluster: register, immutable snapshots, resolve, deregister."""

from __future__ import annotations

import json
from typing import Any

import pykube
import pytest
import yaml
from kubectl import kubectl
from kubetest import wait_for

pytestmark = pytest.mark.integration

CR = "ecs.ecsk.io/v1alpha1"


def td(family: str, env: str = "v1", memory: int = 128) -> dict[str, Any]:
    return {
        "apiVersion": CR,
        "kind": "TaskDefinition",
        "metadata": {"name": family},
        "spec": {
            "family": family,
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": "busybox",
                    "memory": memory,
                    "environment": [{"name": "V", "value": env}],
                }
            ],
        },
    }


def apply(kubeconfig: str, ns: str, *docs: dict[str, Any]) -> None:
    kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))


def get(api: pykube.HTTPClient, kind: str, ns: str, name: str) -> dict[str, Any]:
    cls = pykube.object_factory(api, CR, kind)
    return dict(cls.objects(api, namespace=ns).get(name=name).obj)


def revisions(api: pykube.HTTPClient, ns: str, name: str) -> list[dict[str, Any]]:
    return list((get(api, "TaskDefinition", ns, name).get("status") or {}).get("revisions") or [])


def test_register_revisions_and_immutability(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    ns = operator_ns
    apply(kubeconfig, ns, td("rev"))
    wait_for(lambda: len(revisions(api, ns, "rev")) == 1, 60, what="revision 1")
    apply(kubeconfig, ns, td("rev", env="v2"))
    revs = wait_for(lambda: (r := revisions(api, ns, "rev")) and len(r) == 2 and r, 60, what="revision 2")
    assert [r["revision"] for r in revs] == [1, 2] and all(r["status"] == "ACTIVE" for r in revs)
    status = get(api, "TaskDefinition", ns, "rev")["status"]
    assert status["taskDefinitionArn"].endswith(":task-definition/rev:2") and status["revision"] == 2
    cm1 = pykube.ConfigMap.objects(api, namespace=ns).get(name="td-rev-1").obj
    assert cm1["immutable"] is True
    assert (
        json.loads(cm1["data"]["taskDefinition.json"])["containerDefinitions"][0]["environment"][0]["value"]
        == "v1"
    )
    # Re-applying the same spec registers nothing new.
    apply(kubeconfig, ns, td("rev", env="v2"))
    rv_before = get(api, "TaskDefinition", ns, "rev")["metadata"]["resourceVersion"]
    import time

    time.sleep(12)  # two resyncs
    assert len(revisions(api, ns, "rev")) == 2
    assert get(api, "TaskDefinition", ns, "rev")["metadata"]["resourceVersion"] == rv_before
    # Snapshots cannot be edited.
    proc = kubectl(
        kubeconfig,
        "-n",
        ns,
        "patch",
        "configmap",
        "td-rev-1",
        "--type",
        "merge",
        "-p",
        '{"data":{"taskDefinition.json":"{}"}}',
        check=False,
    )
    assert proc.returncode != 0 and "immutable" in proc.stderr.lower()


def test_invalid_spec_reported_not_registered(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    ns = operator_ns
    bad = td("bad")
    bad["spec"]["containerDefinitions"][0].pop("memory")  # no task memory and no container memory
    apply(kubeconfig, ns, bad)

    def invalid() -> Any:
        conds = (get(api, "TaskDefinition", ns, "bad").get("status") or {}).get("conditions") or []
        return next((c for c in conds if c["type"] == "Valid" and c["status"] == "False"), None)

    cond = wait_for(invalid, 60, what="Valid=False")
    assert "containerDefinitions[0]" in cond["message"]
    assert revisions(api, ns, "bad") == []
    # The Warning event is posted right after the status patch: wait for it, do not race it.
    wait_for(
        lambda: any(
            e.obj.get("type") == "Warning"
            for e in pykube.Event.objects(api, namespace=ns).filter(
                field_selector={"involvedObject.name": "bad"}
            )
        ),
        20,
        what="a Warning event on the invalid TaskDefinition",
    )


def test_deregister_and_resolve(api: pykube.HTTPClient, kubeconfig: str, operator_ns: str) -> None:
    ns = operator_ns
    apply(kubeconfig, ns, td("dereg"))
    wait_for(lambda: len(revisions(api, ns, "dereg")) == 1, 60, what="revision 1")
    apply(kubeconfig, ns, td("dereg", env="v2"))
    wait_for(lambda: len(revisions(api, ns, "dereg")) == 2, 60, what="revision 2")
    kubectl(kubeconfig, "-n", ns, "annotate", "taskdefinition", "dereg", "ecs.ecsk.io/deregister=1")
    wait_for(lambda: revisions(api, ns, "dereg")[0]["status"] == "INACTIVE", 60, what="revision 1 INACTIVE")
    assert revisions(api, ns, "dereg")[1]["status"] == "ACTIVE"
    svc = {
        "apiVersion": CR,
        "kind": "ECSService",
        "metadata": {"name": "uses-old"},
        "spec": {"serviceName": "uses-old", "taskDefinition": "dereg:1", "desiredCount": 1},
    }
    apply(kubeconfig, ns, svc)

    def refused() -> Any:
        conds = (get(api, "ECSService", ns, "uses-old").get("status") or {}).get("conditions") or []
        return next((c for c in conds if c["type"] == "Valid" and c["status"] == "False"), None)

    cond = wait_for(refused, 60, what="inactive revision refused")
    assert cond["message"] == "ClientException: TaskDefinition is inactive"
    # The family alone resolves to the latest ACTIVE revision.
    svc["spec"]["taskDefinition"] = "dereg"
    apply(kubeconfig, ns, svc)
    wait_for(
        lambda: (
            (get(api, "ECSService", ns, "uses-old").get("status") or {})
            .get("taskDefinition", "")
            .endswith("task-definition/dereg:2")
        ),
        60,
        what="service on dereg:2",
    )
