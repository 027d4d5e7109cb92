"""The operator's RBAC (manifests/rbac.yaml) is exactly what its code uses: no wildcard, no
cluster-wide listing of Secrets (only `get` by the name a task's `secrets` reference), and
every granted (group, resource, verb) proven by the code that needs it. A grant whose evidence
disappears from the code fails here (remove the grant); a call the code makes with literal kinds
that no grant covers fails here too (add the grant).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "operator" / "ecsk"
KOPF = "ecsk/controller/operator.py"
CLIENT = "ecsk/controller/kube/client.py"
APPLY = (CLIENT, "self.dyn.server_side_apply(")
"""Server-side apply: a PATCH, which creates the object on first apply; the live object is read
first unless the watch cache covers the kind (`Kube.apply` -> `self.get`)."""
APPLY_GET = (CLIENT, 'live = self.get(obj["apiVersion"], obj["kind"], meta["name"], namespace)')
STATUS = (CLIENT, 'subresource="status"')
EVENT = (CLIENT, "self.core.create_namespaced_event(ns, body)")

Evidence = tuple[str, str]


def CALL(method: str, kind: str) -> Evidence:
    """Evidence found by parsing the code: a `….kube.<method>(api_version, "<kind>", …)` call."""
    return ("call", f"{method} {kind}")


E = "ecs.ecsk.io"
RENDERED = "ecsk/core/translate"

USES: dict[tuple[str, str], dict[str, list[Evidence]]] = {
    **{
        (E, plural): {"list": [(KOPF, "kopf.on.event(GROUP, VERSION, plural")], "watch": [(KOPF, "PLURALS")]}
        for plural in ("taskdefinitions", "ecsservices", "tasks", "scheduledtasks")
    },
    **{
        (E, plural): {
            "list": [("ecsk/controller/autoscaling/reconcile.py", f'"{kind}": "{plural}"')],
            "watch": [(KOPF, "PLURALS |= autoscaling.PLURALS")],
        }
        for kind, plural in (
            ("ScalableTarget", "scalabletargets"),
            ("ScalingPolicy", "scalingpolicies"),
            ("ScheduledAction", "scheduledactions"),
        )
    },
    (E, "apprunnerservices"): {
        "list": [("ecsk/controller/apprunner/reconcile.py", 'PLURALS = {KIND: "apprunnerservices"}')],
        "watch": [(KOPF, "apprunner.PLURALS")],
    },
    (E, "apprunnerautoscalingconfigurations"): {
        "list": [
            ("ecsk/controller/apprunner/scaling.py", 'PLURALS = {KIND: "apprunnerautoscalingconfigurations"')
        ],
        "watch": [(KOPF, "apprunner_scaling.PLURALS")],
        "patch": [("ecsk/controller/apprunner/scaling.py", "{scaling.LABEL_REVISION: str(number)}")],
    },
    (E, "ecsclusters"): {"list": [("ecsk/controller/capacity/providers.py", 'self._list_cr("ECSCluster")')]},
    (E, "capacityproviders"): {
        "list": [("ecsk/controller/capacity/providers.py", 'self._list_cr("CapacityProvider")')]
    },
    # A task's ECR images checked before it starts (CannotPullContainerError); watched for the
    # validity of a kubectl-applied Repository's policies.
    (E, "repositories"): {
        "list": [
            CALL("list", "Repository"),
            ("ecsk/controller/ecr/repositories.py", 'PLURALS = {KIND: "repositories"}'),
        ],
        "watch": [(KOPF, "ecr_repositories.PLURALS")],
    },
    (E, "fargateprofiles"): {
        "list": [("ecsk/controller/capacity/fargate.py", 'list_custom(self.kube, "FargateProfile"')]
    },
    **{
        (E, f"{plural}/status"): {"patch": [STATUS]}
        for plural in (
            "taskdefinitions",
            "ecsservices",
            "tasks",
            "scheduledtasks",
            "ecsclusters",
            "capacityproviders",
            "fargateprofiles",
            "scalabletargets",
            "scalingpolicies",
            "scheduledactions",
            "apprunnerservices",
            "apprunnerautoscalingconfigurations",
            "repositories",
        )
    },
    (E, "ecsservices"): {
        "list": [(KOPF, "kopf.on.event(GROUP, VERSION, plural")],
        "watch": [(KOPF, "PLURALS")],
        "patch": [CALL("merge_patch", "ECSService")],
    },
    (E, "scalabletargets"): {
        "list": [("ecsk/controller/autoscaling/reconcile.py", '"ScalableTarget": "scalabletargets"')],
        "watch": [(KOPF, "PLURALS |= autoscaling.PLURALS")],
        "patch": [CALL("merge_patch", "ScalableTarget")],
    },
    ("autoscaling", "horizontalpodautoscalers"): {
        "get": [APPLY_GET, ("ecsk/controller/autoscaling/reconcile.py", "rt.kube.apply(plan.hpa)")],
        "create": [APPLY],
        "patch": [APPLY],
        "delete": [CALL("delete", "HorizontalPodAutoscaler")],
    },
    ("metrics.k8s.io", "pods"): {"list": [CALL("list", "PodMetrics")]},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {
        "list": [(KOPF, "kopf.run(")],
        "watch": [(KOPF, "kopf.run(")],
    },
    ("", "namespaces"): {  # kopf's namespace observer, when not cluster-wide
        "list": [(KOPF, "clusterwide=not namespaces")],
        "watch": [(KOPF, "namespaces=namespaces or ()")],
    },
    ("", "configmaps"): {
        "get": [CALL("get", "ConfigMap")],  # environment files (ecsk envfile put), read by name
        "list": [CALL("list", "ConfigMap")],
        "watch": [(KOPF, '("", "v1", "configmaps")')],
        "create": [
            ("ecsk/controller/taskdefs/reconcile.py", "rt.kube.create(_snapshot("),
            ("ecsk/controller/runtime/loggroups.py", "kube.create(group_configmap("),
        ],
        "patch": [CALL("merge_patch", "ConfigMap")],
        "delete": [CALL("delete", "ConfigMap")],
    },
    ("", "secrets"): {"get": [CALL("get", "Secret")]},
    ("", "pods"): {
        "list": [CALL("list", "Pod")],
        "watch": [(KOPF, '("", "v1", "pods")')],
        "create": [("ecsk/controller/tasks/reconcile.py", "rt.kube.create(pod)")],
        "patch": [CALL("merge_patch", "Pod")],
        "delete": [CALL("delete", "Pod")],
    },
    **{
        (group, plural): {
            "get": [APPLY_GET],
            "list": [(KOPF, f'("{group}", "v1", "{plural}")')],
            "watch": [(KOPF, f'("{group}", "v1", "{plural}")')],
            "create": [APPLY],
            "patch": [APPLY],
            "delete": [("ecsk/controller/services/reconcile.py", "rt.kube.delete(api_version, kind")],
        }
        for group, plural in (
            ("apps", "deployments"),
            ("apps", "daemonsets"),
            ("", "services"),
            ("networking.k8s.io", "ingresses"),
            ("networking.k8s.io", "networkpolicies"),
        )
    },
    **{
        (group, plural): {
            "get": [APPLY_GET],
            "create": [APPLY],
            "patch": [APPLY, (RENDERED, f'"kind": "{kind}"')],
        }
        for group, plural, kind in (
            ("", "serviceaccounts", "ServiceAccount"),
            ("", "persistentvolumeclaims", "PersistentVolumeClaim"),
            ("", "persistentvolumes", "PersistentVolume"),
            ("storage.k8s.io", "storageclasses", "StorageClass"),
            ("elbv2.k8s.aws", "targetgroupbindings", "TargetGroupBinding"),
        )
    },
    ("batch", "cronjobs"): {
        "get": [APPLY_GET],
        "list": [(KOPF, '("batch", "v1", "cronjobs")')],
        "watch": [(KOPF, '("batch", "v1", "cronjobs")')],
        "create": [APPLY],
        "patch": [APPLY, ("ecsk/controller/tasks/scheduled.py", "rt.kube.apply(")],
    },
    ("batch", "jobs"): {"create": [("ecsk/controller/tasks/scheduled.py", "rt.kube.create(job)")]},
    ("", "nodes"): {
        "list": [CALL("list", "Node")],
        "watch": [(KOPF, '@kopf.on.event("", "v1", "nodes"')],
        "create": [("ecsk/controller/capacity/providers.py", "self.kube.create(body)")],
        "patch": [CALL("merge_patch", "Node")],
        "delete": [CALL("delete", "Node")],
    },
    ("", "pods/binding"): {"create": [("ecsk/controller/capacity/fargate.py", "create_namespaced_binding(")]},
    # ECS events as Events; the Events of a namespace are read to tell a container the kubelet
    # killed for failed liveness probes from one that exited (services/reconcile.py).
    ("", "events"): {"create": [EVENT], "list": [CALL("list", "Event")]},
}
"""(group, resource) -> verb -> where the code needs it (file or package under operator/, snippet)."""

AUTH_READER = "extension-apiserver-authentication-reader"
LEASES = {
    ("coordination.k8s.io", "leases"): {
        "get": [("ecsk/controller/kube/leases.py", "read_namespaced_lease")],
        "list": [("ecsk/controller/kube/leases.py", "list_namespaced_lease")],
        "create": [("ecsk/controller/kube/leases.py", "create_namespaced_lease")],
        "update": [("ecsk/controller/kube/leases.py", "replace_namespaced_lease")],
        "delete": [("ecsk/controller/kube/leases.py", "delete_namespaced_lease")],
    }
}


def _docs() -> list[dict]:  # type: ignore[type-arg]
    return [d for d in yaml.safe_load_all((ROOT / "manifests" / "rbac.yaml").read_text()) if d]


def _grants(kind: str) -> set[tuple[str, str, str]]:
    out = set()
    for doc in _docs():
        if doc["kind"] == kind:
            for rule in doc["rules"]:
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        out |= {(group, resource, verb) for verb in rule["verbs"]}
    return out


def _flat(uses: dict[tuple[str, str], dict[str, list[Evidence]]]) -> set[tuple[str, str, str]]:
    return {(g, r, v) for (g, r), verbs in uses.items() for v in verbs}


def _source(where: str) -> str:
    path = ROOT / "operator" / where
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return "\n".join(f.read_text() for f in files)


def test_no_wildcards_and_no_cluster_wide_secret_reads() -> None:
    for doc in _docs():
        for rule in doc.get("rules") or ():
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[key], (doc["metadata"]["name"], rule)
            assert not rule.get("nonResourceURLs"), rule
    secrets = {(g, r, v) for g, r, v in _grants("ClusterRole") if r.split("/")[0] == "secrets"}
    # Only `get` by name: whether a task's `secrets` resolve (ssm.*/sm.* named by its task
    # definition). Never list/watch (no enumerating Secrets), never a write.
    assert secrets == {("", "secrets", "get")}, secrets


def test_the_cluster_role_grants_exactly_what_the_code_uses() -> None:
    granted, used = _grants("ClusterRole"), _flat(USES)
    assert sorted(granted - used) == [], "granted but not used: remove from manifests/rbac.yaml"
    assert sorted(used - granted) == [], "used but not granted: add to manifests/rbac.yaml"
    assert _grants("Role") == _flat(LEASES)
    bound = {
        (d["metadata"]["namespace"], d["roleRef"]["name"]) for d in _docs() if d["kind"] == "RoleBinding"
    }
    # The adapter's one ConfigMap read (CALL get ConfigMap), through the built-in reader Role.
    assert bound == {("ecsk-system", "ecsk-operator-leases"), ("kube-system", AUTH_READER)}
    assert CALL("get", "ConfigMap")[1] in {f"{m} {k}" for _, _, m, _, k in _kube_calls()}


def test_every_use_is_proven_by_the_code() -> None:
    calls = {f"{method} {kind}" for _, _, method, _, kind in _kube_calls()}
    missing = [
        (group, resource, verb, where, snippet)
        for table in (USES, LEASES)
        for (group, resource), verbs in table.items()
        for verb, evidence in verbs.items()
        for where, snippet in evidence
        if snippet not in (calls if where == "call" else _source(where))
    ]
    assert missing == [], "evidence no longer in the code: is the permission still used?"


KIND_RESOURCE = {
    ("v1", "Pod"): ("", "pods"),
    ("v1", "Node"): ("", "nodes"),
    ("v1", "ConfigMap"): ("", "configmaps"),
    ("v1", "Secret"): ("", "secrets"),
    ("v1", "Event"): ("", "events"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("autoscaling", "horizontalpodautoscalers"),
    ("metrics.k8s.io/v1beta1", "PodMetrics"): ("metrics.k8s.io", "pods"),
}
CUSTOM = {
    "ECSService": "ecsservices",
    "ScalableTarget": "scalabletargets",
    "TaskDefinition": "taskdefinitions",
    "Repository": "repositories",
    "AppRunnerService": "apprunnerservices",
}
VERB = {"get": "get", "list": "list", "delete": "delete", "merge_patch": "patch"}


def _kube_calls() -> list[tuple[str, int, str, str, str]]:
    """(file, line, method, apiVersion, kind) of every `….kube.<method>(…)` with a literal kind."""
    out = []
    for path in sorted((SRC / "controller").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            receiver = ast.unparse(node.func.value)
            if (
                node.func.attr not in VERB
                or not re.search(r"(^|\.)kube$|^Kube\(\)$", receiver)
                or len(node.args) < 2
            ):
                continue
            kind = node.args[1]
            if isinstance(kind, ast.Constant) and isinstance(kind.value, str):
                version = node.args[0]
                api = version.value if isinstance(version, ast.Constant) else ast.unparse(version)
                out.append((str(path.relative_to(SRC)), node.lineno, node.func.attr, str(api), kind.value))
    return out


def test_every_literal_kube_call_is_granted() -> None:
    """The other direction, derived from the code itself: each call the operator makes with a
    literal kind needs a grant (kinds passed as variables are covered by USES' evidence)."""
    granted = _grants("ClusterRole") | {("", "configmaps", "get")}  # AUTH_READER, in kube-system
    calls = _kube_calls()
    assert len(calls) > 20  # the scan still finds the calls (it would pass vacuously otherwise)
    missing = []
    for where, line, method, api, kind in calls:
        if kind in CUSTOM:
            group, resource = E, CUSTOM[kind]
        else:
            assert (api, kind) in KIND_RESOURCE, f"{where}:{line}: map {api} {kind} to its resource"
            group, resource = KIND_RESOURCE[(api, kind)]
        if (group, resource, VERB[method]) not in granted:
            missing.append(f"{where}:{line} {method} {kind}")
    assert missing == []
