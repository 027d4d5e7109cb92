"""The operator runs on manifests/rbac.yaml's ClusterRole alone: a ServiceAccount bound to a copy
of it (unique name, removed afterwards) drives a namespaced operator through registration, a
service to steady state, a standalone task, a scheduled task and refusals, with no Forbidden.

The unit test (tests/unit/test_rbac.py) proves nothing is granted beyond what the code uses; this
one proves what is granted is enough.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykube
import pytest
import yaml
from kubectl import kubectl
from kubetest import OperatorProcess, wait_for

from bad_input import corpus, support

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CR = "ecs.ecsk.io/v1alpha1"


def _rbac() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((ROOT / "manifests" / "rbac.yaml").read_text()) if d]


@pytest.fixture
def sa_kubeconfig(kubeconfig: str, namespace: str, tmp_path: Path) -> Iterator[str]:
    """A kubeconfig for a ServiceAccount of `namespace` holding exactly the manifests' roles."""
    tag = uuid.uuid4().hex[:8]
    sa = {"kind": "ServiceAccount", "name": "ecsk-rbac", "namespace": namespace}
    docs = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "ecsk-rbac", "namespace": namespace},
        }
    ]
    names = {}
    for doc in _rbac():
        if doc["kind"] in ("ClusterRole", "Role"):
            names[doc["metadata"]["name"]] = f"{doc['metadata']['name']}-test-{tag}"
    for doc in _rbac():
        if doc["kind"] in ("ClusterRole", "Role"):
            docs.append({**doc, "metadata": {**doc["metadata"], "name": names[doc["metadata"]["name"]]}})
        elif doc["kind"] in ("ClusterRoleBinding", "RoleBinding") and doc["roleRef"]["name"] in names:
            ref = {**doc["roleRef"], "name": names[doc["roleRef"]["name"]]}
            meta = {**doc["metadata"], "name": f"{doc['metadata']['name']}-test-{tag}"}
            docs.append({**doc, "metadata": meta, "roleRef": ref, "subjects": [sa]})
    kubectl(kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))
    token = kubectl(
        kubeconfig, "-n", namespace, "create", "token", "ecsk-rbac", "--duration", "1h"
    ).stdout.strip()
    admin = yaml.safe_load(Path(kubeconfig).read_text())
    cluster = admin["clusters"][0]["cluster"]
    if "certificate-authority" in cluster:  # inline it: the path may be relative to the original
        ca = Path(cluster["certificate-authority"]).read_bytes()
        cluster = {**cluster, "certificate-authority-data": base64.b64encode(ca).decode()}
        cluster.pop("certificate-authority")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "c", "user": "sa", "namespace": namespace}}],
        "current-context": "sa",
    }
    path = tmp_path / "sa-kubeconfig"
    path.write_text(json.dumps(config))
    try:
        yield str(path)
    finally:
        for doc in reversed(docs[1:]):
            scope = ["-n", doc["metadata"]["namespace"]] if doc["metadata"].get("namespace") else []
            kubectl(
                kubeconfig,
                *scope,
                "delete",
                doc["kind"],
                doc["metadata"]["name"],
                "--wait=false",
                check=False,
            )


def test_the_manifests_role_is_enough(
    api: pykube.HTTPClient,
    kubeconfig: str,
    namespace: str,
    crds_installed: None,
    sa_kubeconfig: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ECSK_OPERATOR_KUBECONFIG", sa_kubeconfig)
    op = OperatorProcess(kubeconfig, namespace, tmp_path / "operator.log")
    op.start()
    try:
        task = {
            "apiVersion": CR,
            "kind": "Task",
            "metadata": {"name": "once"},
            "spec": {"taskDefinition": "corpus-bridge", "count": 1, "launchType": "EC2"},
        }
        schedule = {
            "apiVersion": CR,
            "kind": "ScheduledTask",
            "metadata": {"name": "nightly"},
            "spec": {
                "scheduleExpression": "cron(0 3 ? * * *)",
                "ecsParameters": {"taskDefinition": "corpus-bridge"},
            },
        }
        refused = [c.doc for c in corpus() if c.expect == "status"][::10]  # one of each few kinds
        docs = [*support(), task, schedule, *refused]
        kubectl(kubeconfig, "-n", namespace, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))

        def steady() -> bool:
            svc = (
                pykube.object_factory(api, CR, "ECSService")
                .objects(api, namespace=namespace)
                .get(name="corpus-healthy")
            )
            st = svc.obj.get("status") or {}
            return st.get("runningCount") == 3 and any(
                c["type"] == "SteadyState" and c["status"] == "True" for c in st.get("conditions") or []
            )

        wait_for(steady, 120, interval=2, what="the service steady under the manifests' role")
        wait_for(
            lambda: (
                pykube.CronJob.objects(api, namespace=namespace).get_or_none(name="nightly")
                if hasattr(pykube, "CronJob")
                else kubectl(
                    kubeconfig, "-n", namespace, "get", "cronjob", "-o", "name", check=False
                ).stdout.strip()
            ),
            60,
            what="the scheduled task's CronJob",
        )
        wait_for(
            lambda: (
                (
                    pykube.object_factory(api, CR, "Task")
                    .objects(api, namespace=namespace)
                    .get(name="once")
                    .obj.get("status")
                    or {}
                ).get("lastStatus")
                == "RUNNING"
            ),
            60,
            what="the standalone task RUNNING",
        )
        log = (tmp_path / "operator.log").read_text(errors="replace")
        forbidden = [
            line
            for line in log.splitlines()
            if ("Forbidden" in line or " 403" in line) and "permissions to list namespaces" not in line
        ]
        assert forbidden == [], "\n".join(forbidden[:20])
        assert "Traceback" not in log
    finally:
        op.stop()
