"""`kubectl apply -k manifests/` installs CRDs and the operator; its pod passes the restricted
Pod Security Standard (checked by the real PodSecurity admission, with a server-side dry run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubectl import kubectl

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _built() -> list[dict]:  # type: ignore[type-arg]
    return [d for d in yaml.safe_load_all(kubectl("", "kustomize", str(ROOT / "manifests")).stdout) if d]


def _deployment(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name)


def test_kustomization_contains_crds_rbac_and_a_hardened_operator() -> None:
    docs = _built()
    kinds = {d["kind"] for d in docs}
    assert {
        "CustomResourceDefinition",
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
    } <= kinds
    crds = {d["spec"]["names"]["kind"] for d in docs if d["kind"] == "CustomResourceDefinition"}
    assert {"TaskDefinition", "ECSService", "Task", "ScheduledTask"} <= crds
    ns = next(d for d in docs if d["kind"] == "Namespace")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    dep = _deployment(docs, "ecsk-operator")
    # Two replicas and rolling updates are safe only because of leader election: one acts, the
    # other stands by (Lease Role below), preferably on another node.
    assert dep["spec"]["replicas"] == 2
    anti = dep["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    term = anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert term["labelSelector"]["matchLabels"].items() <= pod_labels.items()
    assert dep["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]
    # Least privilege: no wildcard verbs or resources anywhere in the ClusterRole.
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    for rule in role["rules"]:
        assert "*" not in rule.get("verbs", []), rule
        assert "*" not in rule.get("resources", []), rule
        assert "leases" not in rule["resources"], "Lease verbs belong to the ecsk-system Role only"
    # Leader election: Lease verbs in the operator's own namespace only, exactly those it uses.
    leases_name = "ecsk-operator-leases"
    leases = next(d for d in docs if d["kind"] == "Role" and d["metadata"]["name"] == leases_name)
    assert leases["metadata"]["namespace"] == "ecsk-system"
    assert leases["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "list", "create", "update", "delete"],
        }
    ]
    binding = next(d for d in docs if d["kind"] == "RoleBinding" and d["metadata"]["name"] == leases_name)
    assert binding["roleRef"]["name"] == leases_name
    sa = {"kind": "ServiceAccount", "name": "ecsk-operator", "namespace": "ecsk-system"}
    assert binding["subjects"] == [sa]


@pytest.mark.parametrize("name", ["ecsk-operator", "ecsk-api"])
def test_operator_pod_is_admitted_under_restricted_pod_security(
    kubeconfig: str, namespace: str, name: str
) -> None:
    """Every Deployment of manifests/ (the operator with its adapter, the AWS API endpoint)."""
    kubectl(kubeconfig, "label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    dep = _deployment(_built(), name)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{name}-pss-check", "namespace": namespace},
        "spec": {**dep["spec"]["template"]["spec"], "serviceAccountName": "default"},
    }
    ok = kubectl(kubeconfig, "apply", "--dry-run=server", "-f", "-", stdin=json.dumps(pod), check=False)
    assert ok.returncode == 0, ok.stderr
    assert "violate" not in ok.stderr
    # The check can fail: a privileged variant of the same pod is refused by the same admission.
    bad = json.loads(json.dumps(pod))
    bad["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    refused = kubectl(kubeconfig, "apply", "--dry-run=server", "-f", "-", stdin=json.dumps(bad), check=False)
    assert refused.returncode != 0
    assert "restricted" in refused.stderr


def test_manifests_apply_with_a_server_side_dry_run(kubeconfig: str) -> None:
    # A dry run cannot create the namespace its other objects live in, so that one is real. It
    # stays: every operator (the other tests' too) keeps its leader-election Lease there.
    if kubectl(kubeconfig, "get", "namespace", "ecsk-system", check=False).returncode != 0:
        kubectl(kubeconfig, "create", "namespace", "ecsk-system", check=False)
    proc = kubectl(kubeconfig, "apply", "-k", str(ROOT / "manifests"), "--dry-run=server", check=False)
    assert proc.returncode == 0, proc.stderr


def test_metrics_adapter_is_a_hardened_sidecar_behind_the_external_metrics_apiservice() -> None:
    docs = _built()
    dep = _deployment(docs, "ecsk-operator")
    pod = dep["spec"]["template"]
    adapter = next(c for c in pod["spec"]["containers"] if c["name"] == "metrics-adapter")
    assert adapter["command"][:2] == ["ecsk", "metrics-adapter"]
    assert adapter["securityContext"]["readOnlyRootFilesystem"] is True
    assert any(m["mountPath"] == "/tmp" for m in adapter["volumeMounts"])  # the self-signed cert
    api = next(d for d in docs if d["kind"] == "APIService")
    assert api["metadata"]["name"] == "v1beta1.external.metrics.k8s.io"
    svc = next(
        d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == api["spec"]["service"]["name"]
    )
    # The APIService reaches the adapter: the Service selects the pod and maps its port to the adapter's.
    assert svc["metadata"]["namespace"] == api["spec"]["service"]["namespace"]
    assert svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    port = next(p for p in svc["spec"]["ports"] if p["port"] == api["spec"]["service"]["port"])
    assert any(p["name"] == port["targetPort"] for p in adapter["ports"])
