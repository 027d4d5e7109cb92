"""The in-cluster AWS API endpoint's RBAC (manifests/api.yaml) is exactly what `ecsk.api` uses.

Derived from the code as for the operator (test_rbac.py): every `ctx.store.<method>(kind, …)`
call of `ecsk.api` is found by parsing; its kind (a literal, the literal of `resource("Kind", …)`,
or, for the few calls that take the kind as a variable, the kinds declared in DYNAMIC) and the
HTTP verbs the Store method sends give the grants needed. Granted and used must be equal: a
grant nobody uses fails, a call nobody granted fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from ecsk.api.store import CACHED, CLUSTER_SCOPED, CORE_PLURALS, GROUP, PLURALS

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "operator" / "ecsk" / "api"

STORE_VERBS = {
    "get": ["get"],
    "list": ["list"],
    "create": ["create"],
    "update_spec": ["get", "update"],  # a fresh GET after a conflict, then PUT
    "merge_patch": ["patch"],
    "merge_patch_status": ["patch"],  # on the status subresource (see _used)
    "replace": ["update"],
    "delete": ["delete"],
}
"""Store method -> the Kubernetes verbs its requests need (see ecsk/api/store.py)."""
SPECIAL = {
    "list_all_pods": {("", "pods", "list", True)},  # every namespace: a ClusterRole grant
    "evict": {("", "pods/eviction", "create", False)},
    "pod_log": {("", "pods/log", "get", False)},  # CloudWatch Logs reads the containers' output
}
DYNAMIC = {
    ("autoscaling/targets.py", "list"): ("ScalableTarget", "ScalingPolicy", "ScheduledAction"),
    ("autoscaling/targets.py", "create"): ("ScalableTarget", "ScalingPolicy", "ScheduledAction"),
    ("autoscaling/targets.py", "update_spec"): ("ScalableTarget", "ScalingPolicy", "ScheduledAction"),
    ("autoscaling/targets.py", "delete"): ("ScalingPolicy", "ScheduledAction"),
    ("ecs/clusters.py", "list"): ("ECSService", "Task"),
    ("ecs/tags.py", "update_spec"): ("ECSCluster", "ECSService", "Task"),
    ("ecs/taskdefs.py", "create"): ("TaskDefinition",),
    ("apprunner/scaling.py", "create"): (
        "AppRunnerAutoScalingConfiguration",
    ),  # one object per revision  # built with its registration annotation
    ("logs/groups.py", "create"): ("ConfigMap",),  # loggroups.group_configmap
    **{
        ("ecr/" + where, method): ("Repository",)  # common.KIND
        for where, method in (
            ("common.py", "get"),
            ("common.py", "list"),
            ("lifecycle.py", "get"),
            ("lifecycle.py", "list"),
            ("lifecycle.py", "update_spec"),
            ("policies.py", "update_spec"),
            ("repositories.py", "create"),
            ("repositories.py", "list"),
            ("repositories.py", "update_spec"),
            ("repositories.py", "merge_patch_status"),
            ("repositories.py", "delete"),
            ("scanning.py", "merge_patch_status"),
            ("tags.py", "update_spec"),
        )
    },
    ("vault.py", "create"): ("Secret",),  # SSM parameters and Secrets Manager secrets
    ("vault.py", "replace"): ("Secret",),
}
"""Calls whose kind is a variable: the kinds they are called with (read the code when this fails)."""

Grant = tuple[str, str, str, bool]  # group, resource, verb, cluster-wide


def _resource(kind: str) -> tuple[str, str, bool]:
    if kind in PLURALS:
        return GROUP, PLURALS[kind], False
    return "", CORE_PLURALS[kind], kind in CLUSTER_SCOPED


def _kind_of(call: ast.Call) -> str | None:
    if not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Call) and ast.unparse(first.func) == "resource" and first.args:
        first = first.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def _store_calls() -> list[tuple[str, int, str, str | None]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "store.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and ast.unparse(node.func.value).endswith("store")
            ):
                out.append((str(path.relative_to(SRC)), node.lineno, node.func.attr, _kind_of(node)))
    return out


def _used() -> set[Grant]:
    used: set[Grant] = set()
    for kind in CACHED:  # Store.start_cache: list + watch
        group, resource, wide = _resource(kind)
        used |= {(group, resource, "list", wide), (group, resource, "watch", wide)}
    for where, line, method, kind in _store_calls():
        if method in SPECIAL:
            used |= SPECIAL[method]
            continue
        if method in ("start_cache", "stop_cache"):
            continue
        assert method in STORE_VERBS, f"{where}:{line}: map Store.{method} to its verbs"
        kinds = (kind,) if kind else DYNAMIC.get((where, method))
        assert kinds, f"{where}:{line}: {method} with a variable kind: declare its kinds in DYNAMIC"
        for k in kinds:
            group, resource, wide = _resource(k)
            if method == "merge_patch_status":
                resource += "/status"
            used |= {(group, resource, verb, wide) for verb in STORE_VERBS[method]}
    return used


def _granted() -> set[Grant]:
    docs = [d for d in yaml.safe_load_all((ROOT / "manifests" / "api.yaml").read_text()) if d]
    out: set[Grant] = set()
    for doc in docs:
        if doc["kind"] not in ("Role", "ClusterRole"):
            continue
        for rule in doc["rules"]:
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[key], rule
            out |= {
                (g, r, v, doc["kind"] == "ClusterRole")
                for g in rule["apiGroups"]
                for r in rule["resources"]
                for v in rule["verbs"]
            }
    return out


def _normalised(grants: set[Grant]) -> set[Grant]:
    """A namespaced use is met by a cluster-wide grant of the same verb (pods list)."""
    wide = {(g, r, v) for g, r, v, w in grants if w}
    return {(g, r, v, w) for g, r, v, w in grants if w or (g, r, v) not in wide}


def test_the_api_roles_grant_exactly_what_the_code_uses() -> None:
    assert len(_store_calls()) > 40  # the scan still finds the calls (else it would pass vacuously)
    granted, used = _granted(), _normalised(_used())
    assert sorted(used - granted) == [], "used but not granted: add to manifests/api.yaml"
    assert sorted(granted - used) == [], "granted but not used: remove from manifests/api.yaml"


def test_dynamic_declarations_are_still_in_the_code() -> None:
    found = {(where, method) for where, _, method, kind in _store_calls() if kind is None}
    found -= {(w, m) for w, m in found if m in SPECIAL}
    assert found == set(DYNAMIC)


def test_cluster_wide_grants_are_only_nodes_and_the_pod_list() -> None:
    wide = {(g, r, v) for g, r, v, w in _granted() if w}
    assert wide == {("", "nodes", "get"), ("", "nodes", "list"), ("", "nodes", "patch"), ("", "pods", "list")}
    # Secrets only in the served namespace (SSM parameters and Secrets Manager secrets live there)
    assert not {r for _, r, _, _ in _granted()} & {"serviceaccounts", "roles", "rolebindings"}
