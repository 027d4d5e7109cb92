"""Security groups on real containers: the NetworkPolicy the operator renders for a service's
security groups is enforced (kube-router's firewall, installed by `ecsk kind up`).

The rule ecsk expresses (ecsk.core.translate.loadbalancing._network_policy; the groups' own
rules live in EC2, not in the ECS input): a task of a service with security groups admits
traffic from tasks that are members of one of those groups, and nothing else (load balancer
ports excepted). A task in another group is refused; the same task still reaches a service
without security groups, so the refusal is the policy's, not a broken network.
"""

from __future__ import annotations

import json
from typing import Any

import pykube
import pytest
from kindtest import apply, container, ready_pods, service, task_definition
from kubectl import kubectl
from kubetest import wait_for

pytestmark = pytest.mark.kind


def _in_groups(name: str, *groups: str) -> dict[str, Any]:
    svc = service(name, name, 1)
    if groups:
        svc["spec"]["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"] = list(groups)
    return svc


def _task(api: pykube.HTTPClient, ns: str, name: str) -> dict[str, Any]:
    return wait_for(lambda: ready_pods(api, ns, name, 1), 180, what=f"task of {name} running")[0]


def _reaches(kubeconfig: str, ns: str, client: dict[str, Any], target: dict[str, Any]) -> bool:
    """Whether `client`'s container gets an answer from `target`'s (5 s connect timeout)."""
    proc = kubectl(
        kubeconfig,
        "-n",
        ns,
        "exec",
        client["metadata"]["name"],
        "-c",
        "app",
        "--",
        "/ecsk-testapp",
        "get",
        f"http://{target['status']['podIP']}:8080/",
        check=False,
    )
    if proc.returncode != 0:
        return False
    assert json.loads(proc.stdout)["hostname"] == target["metadata"]["name"]
    return True


def test_security_groups_admit_members_and_refuse_other_tasks(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    app = container("app", portMappings=[{"containerPort": 8080}])
    docs = [task_definition(n, [app]) for n in ("db", "member", "outsider", "open")]
    docs += [
        _in_groups("db", "sg-0db5e1ec7"),
        _in_groups("member", "sg-0db5e1ec7"),  # a member of the database's security group
        _in_groups("outsider", "sg-0a11ce"),
        _in_groups("open"),  # no security group: no policy
    ]
    apply(kubeconfig, namespace, *docs)
    db, member, outsider, open_ = (_task(api, namespace, n) for n in ("db", "member", "outsider", "open"))
    policy = pykube.object_factory(api, "networking.k8s.io/v1", "NetworkPolicy")
    rendered = wait_for(
        lambda: policy.objects(api, namespace=namespace).get_or_none(name="db"), 60, what="the db policy"
    )
    peers = rendered.obj["spec"]["ingress"][0]["from"]
    assert peers[0]["podSelector"]["matchLabels"] == {"sg.ecs.ecsk.io/sg-0db5e1ec7": "true"}
    assert policy.objects(api, namespace=namespace).get_or_none(name="open") is None

    # kube-router applies a policy within its sync; the verdicts must then hold steadily
    wait_for(
        lambda: not _reaches(kubeconfig, namespace, outsider, db), 90, interval=2, what="outsider refused"
    )
    for _ in range(3):
        assert _reaches(kubeconfig, namespace, member, db), "a member of the security group was refused"
        assert not _reaches(kubeconfig, namespace, outsider, db), "a task of another security group got in"
        assert _reaches(kubeconfig, namespace, outsider, open_), "the outsider cannot reach anything"
