"""The external metrics API: what services publish, selectors, the API's JSON, the HTTPS server."""

from __future__ import annotations

import json
import ssl
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ecsk.cli.load_cmd import merge_metrics, parse_metric
from ecsk.cluster.embedded import metrics_adapter as adapter_process
from ecsk.controller.autoscaling import metrics_adapter
from ecsk.core.autoscaling import external

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/73e2d6bc24d8a067"
SELECTOR = "ecs.ecsk.io/target-group=web-tg,ecs.ecsk.io/target-group-id=73e2d6bc24d8a067"


def svc(name: str, annotations: dict[str, str] | None = None, tgs: tuple[str, ...] = (TG,)) -> dict[str, Any]:
    lbs = [{"targetGroupArn": arn, "containerName": "app", "containerPort": 80} for arn in tgs]
    return {
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            "serviceName": name,
            "cluster": "arn:aws:ecs:us-east-1:1:cluster/prod",
            "loadBalancers": lbs,
        },
    }


def values(services: list[dict[str, Any]], metric: str, selector: str) -> list[str]:
    return [i["value"] for i in external.value_list(services, metric, selector, NOW)["items"]]


def test_resource_label_selects_its_target_group() -> None:
    label = "app/web-alb/50dc6c495c0c9188/targetgroup/web-tg/73e2d6bc24d8a067"
    assert external.alb_selector(label) == {
        "ecs.ecsk.io/target-group": "web-tg",
        "ecs.ecsk.io/target-group-id": "73e2d6bc24d8a067",
    }
    assert external.alb_selector("targetgroup/web-tg/73e2d6bc24d8a067") is None


def test_requests_are_the_target_groups_total_and_idle_groups_publish_zero() -> None:
    busy = svc("web", {external.REQUESTS_ANNOTATION: "500"})
    other = svc("api", {external.REQUESTS_ANNOTATION: "70"}, tgs=(TG.replace("web-tg", "api-tg"),))
    idle = svc("idle", tgs=(TG.replace("web-tg", "idle-tg"),))
    assert values([busy, other, idle], external.ALB_METRIC, SELECTOR) == ["500"]
    idle_sel = SELECTOR.replace("web-tg", "idle-tg")
    assert values([busy, other, idle], external.ALB_METRIC, idle_sel) == ["0"]
    # Two services behind one target group: the group's count is the sum (the HPA adds items).
    twin = svc("web2", {external.REQUESTS_ANNOTATION: "12.5"})
    assert values([busy, twin], external.ALB_METRIC, SELECTOR) == ["500", "12500m"]
    # A service without a target group has no request count at all.
    assert external.service_items(svc("bare", {external.REQUESTS_ANNOTATION: "9"}, tgs=())) == []


def test_item_shape_is_an_external_metric_value() -> None:
    body = external.value_list(
        [svc("web", {external.REQUESTS_ANNOTATION: "60"})], external.ALB_METRIC, "", NOW
    )
    assert body["kind"] == "ExternalMetricValueList"
    assert body["apiVersion"] == "external.metrics.k8s.io/v1beta1"
    [item] = body["items"]
    assert item["metricName"] == "alb-request-count"
    assert item["timestamp"] == "2026-01-02T03:04:05Z"
    assert item["window"] == 60
    assert item["metricLabels"]["ecs.ecsk.io/cluster"] == "prod"
    assert item["metricLabels"]["ecs.ecsk.io/service"] == "web"


def test_customized_metrics_are_published_under_their_sanitised_name() -> None:
    ann = {external.METRICS_ANNOTATION: json.dumps({"MyApp/Queue Depth": 30, "MyApp/Bad": "x", "NoSlash": 1})}
    items = external.service_items(svc("worker", ann, tgs=()))
    assert [(i.metric, i.value) for i in items] == [("myapp-queue-depth", 30.0)]
    sel = "ecs.ecsk.io/cluster=prod,ecs.ecsk.io/service=worker"
    assert values([svc("worker", ann, tgs=())], "myapp-queue-depth", sel) == ["30"]
    assert values([svc("worker", ann, tgs=())], "myapp-queue-depth", sel.replace("worker", "web")) == []
    broken = {external.METRICS_ANNOTATION: "{not json"}
    assert external.service_items(svc("w", broken, tgs=())) == []


def test_selector_parsing() -> None:
    reqs = external.parse_selector("a=1,b==2,c!=3,d,!e")
    assert external.matches({"a": "1", "b": "2", "c": "4", "d": ""}, reqs)
    assert not external.matches({"a": "1", "b": "2", "c": "3", "d": ""}, reqs)
    assert not external.matches({"a": "1", "b": "2", "d": "", "e": "x"}, reqs)
    with pytest.raises(external.SelectorError):
        external.parse_selector("a in (1,2)")


def test_quantity_keeps_milli_precision() -> None:
    assert [external.quantity(v) for v in (0, 3, 2.5, 0.0004, 1234.5678)] == [
        "0",
        "3",
        "2500m",
        "0",
        "1234568m",
    ]


def test_respond_routes_discovery_metrics_and_errors() -> None:
    seen: list[str] = []

    def lister(ns: str) -> list[dict[str, Any]]:
        seen.append(ns)
        return [svc("web", {external.REQUESTS_ANNOTATION: "500"})]

    code, body = metrics_adapter.respond("/apis/external.metrics.k8s.io/v1beta1", lister, NOW)
    assert (
        code == 200
        and body["resources"][0]["name"] == "externalmetrics"
        and body["resources"][0]["namespaced"]
    )
    code, body = metrics_adapter.respond("/apis/external.metrics.k8s.io", lister, NOW)
    assert code == 200 and body["preferredVersion"]["version"] == "v1beta1"
    path = (
        f"/apis/external.metrics.k8s.io/v1beta1/namespaces/team-a/alb-request-count?labelSelector={SELECTOR}"
    )
    code, body = metrics_adapter.respond(path, lister, NOW)
    assert code == 200 and [i["value"] for i in body["items"]] == ["500"] and seen == ["team-a"]
    # The HPA controller asks for metric names in lower case; names are matched that way.
    ann = {external.METRICS_ANNOTATION: json.dumps({"MyApp/Depth": 4})}
    upper = "/apis/external.metrics.k8s.io/v1beta1/namespaces/a/MyApp-Depth"
    code, body = metrics_adapter.respond(upper, lambda ns: [svc("w", ann, tgs=())], NOW)
    assert [i["metricName"] for i in body["items"]] == ["myapp-depth"]
    code, body = metrics_adapter.respond(path.replace("=web-tg", "+in+(web-tg)"), lister, NOW)
    assert code == 400 and body["kind"] == "Status"
    code, body = metrics_adapter.respond("/apis/other", lister, NOW)
    assert code == 404 and body["reason"] == "NotFound"


def test_server_answers_over_https(tmp_path: Path) -> None:
    server = metrics_adapter.make_server(
        "127.0.0.1", 0, lambda ns: [svc("web", {external.REQUESTS_ANNOTATION: "7"})], tmp_path
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        ctx = ssl._create_unverified_context()
        url = f"https://127.0.0.1:{port}/apis/external.metrics.k8s.io/v1beta1/namespaces/x/alb-request-count"
        with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:
            assert json.loads(resp.read())["items"][0]["value"] == "7"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"https://127.0.0.1:{port}/nope", context=ctx, timeout=10)
        assert err.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
    assert (tmp_path / "tls.crt").is_file()  # made once, reused on restart


def test_load_metric_flag_parses_and_merges() -> None:
    assert parse_metric("MyApp/Queue Depth=30") == ("MyApp/Queue Depth", 30.0)
    assert parse_metric("AWS/SQS/Depth=") == ("AWS/SQS/Depth", None)
    for bad in ("Depth=3", "MyApp/Depth", "MyApp/Depth=lots"):
        with pytest.raises(ValueError):
            parse_metric(bad)
    merged = merge_metrics('{"A/x": 1}', {"B/y": 2.5})
    assert merged is not None and json.loads(merged) == {"A/x": 1, "B/y": 2.5}
    assert merge_metrics(merged, {"A/x": None, "B/y": None}) is None


def test_local_registration_points_the_aggregator_at_the_adapter_port(tmp_path: Path) -> None:
    svc_doc, api_doc = adapter_process.registration(41234)
    assert svc_doc["spec"] == {"type": "ExternalName", "externalName": "127.0.0.1"}
    assert api_doc["metadata"]["name"] == "v1beta1.external.metrics.k8s.io"
    assert api_doc["spec"]["service"] == {
        "name": svc_doc["metadata"]["name"],
        "namespace": "kube-system",
        "port": 41234,
    }
    # A recreated cluster (new kubeconfig) must not reuse an adapter holding old credentials.
    config = tmp_path / "kubeconfig"
    config.write_text("a")
    first = adapter_process.fingerprint(config)
    config.write_text("b")
    assert adapter_process.fingerprint(config) != first
