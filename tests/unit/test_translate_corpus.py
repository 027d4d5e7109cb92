"""Every corpus scenario renders without errors into objects the apiserver would accept.

The structural checks below mirror the apiserver's validation rules that a translation bug could
break (names, label syntax, quantities, references between fields); the integration suite
server-side dry-runs the same objects against a real apiserver.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ecsk.core.models import LoadedDocument, load_text
from ecsk.core.translate import RenderOptions
from ecsk.core.translate.bundle import BundleItem, render_documents

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
SCENARIOS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G)?$")
PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def load_scenario(name: str) -> list[LoadedDocument]:
    docs: list[LoadedDocument] = []
    for f in sorted((CORPUS / name).iterdir()):
        docs.extend(load_text(f.read_text()))
    return docs


def render_scenario(name: str, **kw: Any) -> list[BundleItem]:
    return render_documents(load_scenario(name), RenderOptions(**kw))


def check_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    assert len(name) <= 63 and QUALIFIED_NAME.match(name), key
    if prefix:
        assert len(prefix) <= 253 and DNS1123_SUBDOMAIN.match(prefix), key


def check_meta(meta: dict[str, Any], kind: str) -> None:
    name = meta["name"]
    if kind == "Service":
        assert len(name) <= 63 and DNS1035_LABEL.match(name), name
    else:
        assert len(name) <= 253 and DNS1123_SUBDOMAIN.match(name), name
    for key, value in (meta.get("labels") or {}).items():
        check_key(key)
        assert isinstance(value, str) and len(value) <= 63 and LABEL_VALUE.match(value), (key, value)
    for key, value in (meta.get("annotations") or {}).items():
        check_key(key)
        assert isinstance(value, str)


def check_resources(res: dict[str, Any]) -> None:
    for section in ("requests", "limits"):
        for key, q in (res.get(section) or {}).items():
            assert isinstance(q, str) and QUANTITY.match(q), (key, q)
    for key, q in (res.get("requests") or {}).items():
        if key in (res.get("limits") or {}) and key != "cpu":
            assert _bytes(q) <= _bytes(res["limits"][key]), (key, res)


def _bytes(q: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "m": 1e-3}
    for suffix, mult in units.items():
        if q.endswith(suffix):
            return float(q[: -len(suffix)]) * mult
    return float(q)


def check_pod_spec(spec: dict[str, Any]) -> None:
    volumes = {v["name"] for v in spec.get("volumes", [])}
    assert len(volumes) == len(spec.get("volumes", [])), "duplicate volume names"
    for v in spec.get("volumes", []):
        assert DNS1123_LABEL.match(v["name"]) and len(v["name"]) <= 63, v["name"]
        sources = [k for k in v if k != "name"]
        assert len(sources) == 1, v
    all_containers = [*spec.get("initContainers", []), *spec["containers"]]
    assert spec["containers"], "a pod needs at least one container"
    names = [c["name"] for c in all_containers]
    assert len(set(names)) == len(names), names
    for c in all_containers:
        assert DNS1123_LABEL.match(c["name"]) and len(c["name"]) <= 63, c["name"]
        assert c.get("image"), c
        check_resources(c.get("resources", {}))
        mounts = [m["mountPath"] for m in c.get("volumeMounts", [])]
        assert len(set(mounts)) == len(mounts), mounts
        for m in c.get("volumeMounts", []):
            assert m["name"] in volumes, m
        port_names = [p["name"] for p in c.get("ports", []) if "name" in p]
        assert len(set(port_names)) == len(port_names)
        for p in c.get("ports", []):
            assert 1 <= p["containerPort"] <= 65535 and p["protocol"] in ("TCP", "UDP")
            if "name" in p:
                assert len(p["name"]) <= 15 and PORT_NAME.match(p["name"]), p
        if "restartPolicy" in c:
            assert c in spec.get("initContainers", []) and c["restartPolicy"] == "Always"
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if probe in c:
                # exec: an ECS healthCheck; tcpSocket: a target group's check on the target port
                check = c[probe].get("exec", {}).get("command") or c[probe].get("tcpSocket", {}).get("port")
                assert c[probe]["failureThreshold"] >= 1 and check, c[probe]
        if "livenessProbe" in c or "startupProbe" in c:
            assert c.get("restartPolicy", "Always") == "Always"
    if "resources" in spec:
        check_resources(spec["resources"])
        assert set(spec["resources"]["requests"]) <= {"cpu", "memory"}
    if spec.get("dnsPolicy") == "None":
        assert spec["dnsConfig"]["nameservers"]
    if "serviceAccountName" in spec:
        assert DNS1123_SUBDOMAIN.match(spec["serviceAccountName"])


def check_object(obj: dict[str, Any]) -> None:
    kind = obj["kind"]
    check_meta(obj["metadata"], kind)
    if kind in ("Deployment", "DaemonSet"):
        tmpl = obj["spec"]["template"]
        check_meta({"name": "x", **tmpl["metadata"]}, "Pod")
        selector = obj["spec"]["selector"]["matchLabels"]
        assert all(tmpl["metadata"]["labels"].get(k) == v for k, v in selector.items())
        check_pod_spec(tmpl["spec"])
        if kind == "Deployment":
            ru = obj["spec"]["strategy"]["rollingUpdate"]
            assert ru["maxSurge"] != 0 or ru["maxUnavailable"] != 0, "both 0 is illegal in Kubernetes"
    elif kind == "PodTemplate":
        check_meta({"name": "x", **obj["template"]["metadata"]}, "Pod")
        check_pod_spec(obj["template"]["spec"])
    elif kind == "Service":
        ports = obj["spec"].get("ports", [])
        assert ports or obj["spec"].get("clusterIP") == "None"
        assert len({p["name"] for p in ports}) == len(ports)
        for p in ports:
            assert len(p["name"]) <= 15 and PORT_NAME.match(p["name"]), p


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_corpus_renders_valid_objects(scenario: str) -> None:
    items = render_scenario(scenario)
    assert items
    for item in items:
        assert not item.issues, [str(i) for i in item.issues]
        assert item.result is not None
        assert not item.result.errors, item.result.errors
        for obj in item.result.objects:
            check_object(obj)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_corpus_every_given_field_is_explained(scenario: str) -> None:
    for item in render_scenario(scenario):
        assert item.result is not None
        missing = [e.ecs_path for e in item.result.explanations if e.note.startswith("NOT COVERED")]
        assert not missing


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_corpus_render_is_deterministic(scenario: str) -> None:
    first = [i.result.objects for i in render_scenario(scenario) if i.result]
    second = [i.result.objects for i in render_scenario(scenario) if i.result]
    assert first == second


def test_corpus_is_big_enough() -> None:
    assert len(SCENARIOS) >= 20
    kinds = {i.kind for s in SCENARIOS for i in render_scenario(s)}
    assert kinds == {"TaskDefinition", "ECSService"}


def test_corpus_with_pod_level_resources_off_and_create_mode() -> None:
    for scenario in SCENARIOS:
        for item in render_scenario(scenario, pod_level_resources=False, load_balancers="create"):
            assert item.result is not None and not item.result.errors
            for obj in item.result.objects:
                check_object(obj)
                if obj["kind"] in ("Deployment", "DaemonSet"):
                    assert "resources" not in obj["spec"]["template"]["spec"]
