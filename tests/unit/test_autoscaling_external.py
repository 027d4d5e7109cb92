"""The external metrics API: what services publish, selectors, the API's JSON, the HTTPS server."""

from __future__ import annotations

import json
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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


def _ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _client(tmp: Path, ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate], cn: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca[1].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca[0], hashes.SHA256())
    )
    crt, pem_key = tmp / f"{cn}-{ca[1].subject.rfc4514_string()}.crt", tmp / f"{cn}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(crt), str(pem_key)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def cas() -> dict[str, tuple[ec.EllipticCurvePrivateKey, x509.Certificate]]:
    return {name: _ca(name) for name in ("front-proxy-ca", "cluster-ca", "stranger-ca")}


@pytest.fixture
def adapter_url(tmp_path: Path, cas: dict[str, Any]) -> Iterator[str]:
    auth = metrics_adapter.ClientAuth.from_configmap_data(
        {
            "requestheader-client-ca-file": _pem(cas["front-proxy-ca"][1]),
            "requestheader-allowed-names": '["front-proxy-client"]',
            "requestheader-username-headers": '["X-Remote-User"]',
            "client-ca-file": _pem(cas["cluster-ca"][1]),
        }
    )
    lister = lambda ns: [svc("web", {external.REQUESTS_ANNOTATION: "7"})]  # noqa: E731
    server = metrics_adapter.make_server("127.0.0.1", 0, lister, auth, tmp_path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
    assert (tmp_path / "tls.crt").is_file()  # made once, reused on restart


def _get(url: str, cert: tuple[str, str] | None = None, user: str | None = None) -> tuple[int, Any]:
    ctx = ssl._create_unverified_context()
    if cert:
        ctx.load_cert_chain(*cert)
    request = urllib.request.Request(url, headers={"X-Remote-User": user} if user else {})
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=10) as resp:
            return resp.status, json.loads(resp.read()) if "json" in resp.headers["Content-Type"] else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


METRIC = "/apis/external.metrics.k8s.io/v1beta1/namespaces/x/alb-request-count"


def test_server_answers_the_aggregator_over_https(
    adapter_url: str, tmp_path: Path, cas: dict[str, Any]
) -> None:
    front_proxy = _client(tmp_path, cas["front-proxy-ca"], "front-proxy-client")
    code, body = _get(adapter_url + METRIC, front_proxy, user="system:kube-controller-manager")
    assert code == 200 and body["items"][0]["value"] == "7"
    assert _get(adapter_url + "/nope", front_proxy, user="u")[0] == 404
    # The embedded cluster's aggregator: a plain client certificate of the cluster CA.
    assert _get(adapter_url + METRIC, _client(tmp_path, cas["cluster-ca"], "admin"))[0] == 200


def test_server_refuses_unauthenticated_callers(
    adapter_url: str, tmp_path: Path, cas: dict[str, Any]
) -> None:
    code, body = _get(adapter_url + METRIC)
    assert code == 401 and body["reason"] == "Unauthorized"
    # A front-proxy certificate whose CN is not an allowed name, or without the user header.
    assert (
        _get(adapter_url + METRIC, _client(tmp_path, cas["front-proxy-ca"], "intruder"), user="u")[0] == 401
    )
    assert (
        _get(adapter_url + METRIC, _client(tmp_path, cas["front-proxy-ca"], "front-proxy-client"))[0] == 401
    )
    # A certificate from a CA the cluster does not trust fails the handshake.
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        _get(adapter_url + METRIC, _client(tmp_path, cas["stranger-ca"], "front-proxy-client"), user="u")
    # Health probes carry no certificate and stay answered.
    assert _get(adapter_url + "/readyz")[0] == 200


def test_client_auth_settings_are_checked() -> None:
    with pytest.raises(metrics_adapter.AuthConfigError, match="names no client CA"):
        metrics_adapter.ClientAuth.from_configmap_data({})
    with pytest.raises(metrics_adapter.AuthConfigError, match="client-ca-file is not PEM"):
        metrics_adapter.ClientAuth.from_configmap_data({"client-ca-file": "-----BEGIN CERTIFICATE-----\nxx"})


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
