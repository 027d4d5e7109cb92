"""The AWS API endpoint's protocol layer without a cluster: dispatch, errors, SigV4, model
validation, pagination tokens and ARN formats (a fake store stands in for the Kubernetes API)."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from ecsk.api import server, sigv4
from ecsk.api.context import Context, Settings, decode_token, encode_token, page
from ecsk.api.ecs import common
from ecsk.api.errors import AwsError
from ecsk.api.model import validate_input
from ecsk.api.store import unavailable

ECS = "AmazonEC2ContainerServiceV20141113"


class FakeStore:
    """Just enough of ecsk.api.store.Store: lists by kind, optionally failing like a dead API."""

    namespace = "test"

    def __init__(self, objects: dict[str, list[dict[str, Any]]] | None = None, down: bool = False) -> None:
        self.objects = objects or {}
        self.down = down

    def list(self, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
        if self.down:
            raise unavailable()
        return list(self.objects.get(kind, []))

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.list(kind) if o["metadata"]["name"] == name), None)


def cluster(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"clusterName": name}}


def call(
    target: str, body: Any, store: Any = None, settings: Settings | None = None, raw: bytes | None = None
) -> server.Response:
    payload = raw if raw is not None else json.dumps(body).encode()
    headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
    return server.dispatch(store or FakeStore(), settings or Settings(), "POST", "/", headers, payload)


# --- dispatch and errors ------------------------------------------------------------------------


def test_list_clusters_reads_the_store_and_builds_long_arns() -> None:
    store = FakeStore({"ECSCluster": [cluster("prod"), cluster("dev")]})
    resp = call(f"{ECS}.ListClusters", {}, store, Settings(region="eu-west-1", account="123456789012"))
    assert resp.status == 200
    assert resp.body["clusterArns"] == [
        "arn:aws:ecs:eu-west-1:123456789012:cluster/dev",
        "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
    ]


def test_describe_missing_cluster_is_a_failure_not_an_error() -> None:
    resp = call(
        f"{ECS}.DescribeClusters",
        {"clusters": ["prod", "ghost"]},
        FakeStore({"ECSCluster": [cluster("prod")]}),
    )
    assert resp.status == 200
    assert [c["clusterName"] for c in resp.body["clusters"]] == ["prod"]
    assert resp.body["failures"] == [
        {"arn": "arn:aws:ecs:us-east-1:000000000000:cluster/ghost", "reason": "MISSING"}
    ]


@pytest.mark.parametrize(
    ("target", "raw", "code", "status"),
    [
        ("Nope.ListClusters", b"{}", "UnknownOperationException", 400),
        (f"{ECS}.NoSuchOperation", b"{}", "UnknownOperationException", 400),
        ("", b"{}", "UnknownOperationException", 400),
        (f"{ECS}.ListClusters", b"{not json", "SerializationException", 400),
        (f"{ECS}.ListClusters", b"[1, 2]", "SerializationException", 400),
        (f"{ECS}.ListClusters", b'{"maxResults": "ten"}', "SerializationException", 400),
        (f"{ECS}.DescribeServices", b'{"services": "web"}', "SerializationException", 400),
        (f"{ECS}.DescribeTaskSets", b'{"cluster": "c", "service": "s"}', "UnsupportedFeatureException", 400),
    ],
)
def test_bad_requests_get_aws_errors(target: str, raw: bytes, code: str, status: int) -> None:
    resp = call(target, None, raw=raw)
    assert (resp.status, resp.error, resp.body["__type"]) == (status, code, code)
    assert "Traceback" not in json.dumps(resp.body)


def test_missing_required_member_in_corals_wording() -> None:
    resp = call(f"{ECS}.DescribeServices", {"cluster": "c"})
    assert resp.error == "InvalidParameterException"
    assert resp.body["message"] == (
        "1 validation error detected: Value null at 'services' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_enum_violation_names_the_allowed_values() -> None:
    resp = call(f"{ECS}.ListServices", {"launchType": "MAINFRAME"})
    assert resp.error == "InvalidParameterException"
    assert "Value 'MAINFRAME' at 'launchType'" in resp.body["message"]
    assert "[EC2, FARGATE, EXTERNAL" in resp.body["message"]


def test_application_autoscaling_uses_validation_exception() -> None:
    resp = call("AnyScaleFrontendService.DescribeScalableTargets", {})
    assert resp.error == "ValidationException"
    assert "ServiceNamespace" in resp.body["message"]


def test_unknown_members_are_dropped_like_aws_does() -> None:
    out = validate_input("ecs", "ListClusters", {"maxResults": 5, "surprise": 1}, "InvalidParameterException")
    assert out == {"maxResults": 5}


def test_nested_validation_paths_are_reported() -> None:
    with pytest.raises(AwsError) as err:
        validate_input(
            "ecs",
            "RegisterTaskDefinition",
            {"family": "f", "containerDefinitions": [{"name": "a", "portMappings": [{"protocol": "sctp"}]}]},
            "InvalidParameterException",
        )
    assert "at 'containerDefinitions.1.portMappings.1.protocol'" in err.value.message


def test_kubernetes_down_is_a_retryable_server_error() -> None:
    resp = call(f"{ECS}.ListClusters", {}, FakeStore(down=True))
    assert resp.status == 500 and resp.error == "ServerException"


def test_a_bug_is_a_500_without_traceback() -> None:
    class Broken(FakeStore):
        def list(self, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
            raise KeyError("boom")

    resp = call(f"{ECS}.ListClusters", {}, Broken())
    assert resp.status == 500
    assert resp.body == {"__type": "ServerException", "message": "An internal error occurred in ecsk."}


# --- pagination and ARNs ------------------------------------------------------------------------


def test_pagination_walks_every_item_once_and_survives_inserts() -> None:
    items = [f"arn-{i:03d}" for i in range(25)]
    chunk, token = page(items, {"maxResults": 10}, key=str)
    assert chunk == items[:10] and token
    items.insert(0, "arn-000a")  # created meanwhile, sorts before the cursor: not repeated
    rest, token2 = page(items, {"maxResults": 10, "nextToken": token}, key=str)
    assert rest == [f"arn-{i:03d}" for i in range(10, 20)]
    last, token3 = page(items, {"maxResults": 10, "nextToken": token2}, key=str)
    assert last == [f"arn-{i:03d}" for i in range(20, 25)] and token3 is None


def test_pagination_descending_and_limits() -> None:
    items = ["a", "b", "c"]
    chunk, token = page(items, {"maxResults": 2}, key=str, reverse=True)
    assert chunk == ["c", "b"]
    assert page(items, {"maxResults": 2, "nextToken": token}, key=str, reverse=True) == (["a"], None)
    with pytest.raises(AwsError, match="between 1 and 100"):
        page(items, {"maxResults": 101}, key=str)
    with pytest.raises(AwsError, match="Invalid nextToken"):
        page(items, {"nextToken": "garbage!"}, key=str)
    assert decode_token(encode_token("x/y")) == "x/y"


def test_arn_formats_are_the_long_ones() -> None:
    ctx = Context(FakeStore(), Settings(region="ap-south-1", account="111122223333"))  # type: ignore[arg-type]
    assert common.cluster_arn(ctx, "prod") == "arn:aws:ecs:ap-south-1:111122223333:cluster/prod"
    assert common.service_arn(ctx, "prod", "web") == "arn:aws:ecs:ap-south-1:111122223333:service/prod/web"
    assert common.task_arn(ctx, "prod", "abc") == "arn:aws:ecs:ap-south-1:111122223333:task/prod/abc"
    assert (
        common.task_definition_arn(ctx, "web", 3)
        == "arn:aws:ecs:ap-south-1:111122223333:task-definition/web:3"
    )
    assert common.short_name("arn:aws:ecs:us-east-1:000000000000:service/prod/web", "service") == "web"
    with pytest.raises(AwsError):
        common.short_name("arn:aws:ecs:us-east-1:000000000000:task/prod/abc", "service")


# --- SigV4 --------------------------------------------------------------------------------------


def signed(
    secret: str = "s3cret", akid: str = "AKIDTEST", when: datetime | None = None
) -> tuple[dict[str, str], bytes]:
    body = b"{}"
    req = AWSRequest(
        method="POST",
        url="http://127.0.0.1:4599/",
        data=body,
        headers={"X-Amz-Target": f"{ECS}.ListClusters", "Content-Type": "application/x-amz-json-1.1"},
    )
    signer = SigV4Auth(Credentials(akid, secret), "ecs", "eu-west-1")
    if when is not None:
        req.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
        req.headers["X-Amz-Date"] = req.context["timestamp"]
        req.headers["host"] = "127.0.0.1:4599"
        canonical = signer.canonical_request(req)
        sig = signer.signature(signer.string_to_sign(req, canonical), req)
        req.headers["Authorization"] = signer._inject_signature_to_request(req, sig).headers["Authorization"]
    else:
        signer.add_auth(req)
        req.headers["host"] = "127.0.0.1:4599"
    return dict(req.headers.items()), body


def test_parse_authorization_reads_the_credential_scope() -> None:
    headers, _ = signed()
    auth = sigv4.parse_authorization(headers["Authorization"])
    assert (auth.access_key, auth.region, auth.service) == ("AKIDTEST", "eu-west-1", "ecs")
    assert "x-amz-date" in auth.signed_headers


def test_malformed_authorization_is_incomplete_signature() -> None:
    with pytest.raises(AwsError) as err:
        sigv4.parse_authorization("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ecs/aws4_request")
    assert err.value.code == "IncompleteSignatureException"
    assert "'SignedHeaders'" in err.value.message and "'Signature'" in err.value.message


def test_default_mode_accepts_any_credentials() -> None:
    headers, body = signed(secret="whatever")
    assert sigv4.verify(headers["Authorization"], None, "POST", "/", headers, body) is not None
    assert sigv4.verify(None, None, "POST", "/", headers, body) is None


def test_strict_mode_verifies_with_botocores_signer() -> None:
    keys = {"AKIDTEST": "s3cret"}
    headers, body = signed()
    assert sigv4.verify(headers["Authorization"], keys, "POST", "/", headers, body).access_key == "AKIDTEST"  # type: ignore[union-attr]
    bad_headers, bad_body = signed(secret="wrong")
    with pytest.raises(AwsError) as err:
        sigv4.verify(bad_headers["Authorization"], keys, "POST", "/", bad_headers, bad_body)
    assert (err.value.code, err.value.status) == ("InvalidSignatureException", 403)
    with pytest.raises(AwsError) as err:
        sigv4.verify(
            headers["Authorization"], keys, "POST", "/", headers, b'{"maxResults": 1}'
        )  # body changed
    assert err.value.code == "InvalidSignatureException"
    other, other_body = signed(akid="AKIDOTHER")
    with pytest.raises(AwsError) as err:
        sigv4.verify(other["Authorization"], keys, "POST", "/", other, other_body)
    assert err.value.code == "UnrecognizedClientException"
    with pytest.raises(AwsError) as err:
        sigv4.verify(None, keys, "POST", "/", {}, b"")
    assert (err.value.code, err.value.status) == ("MissingAuthenticationTokenException", 403)


def test_strict_mode_refuses_an_old_signature() -> None:
    keys = {"AKIDTEST": "s3cret"}
    headers, body = signed(when=datetime.now(UTC) - timedelta(minutes=20))
    with pytest.raises(AwsError, match="Signature expired"):
        sigv4.verify(headers["Authorization"], keys, "POST", "/", headers, body)


def test_parse_keys() -> None:
    assert sigv4.parse_keys("A:x, B:y") == {"A": "x", "B": "y"}
    with pytest.raises(ValueError, match="ACCESS_KEY_ID:SECRET"):
        sigv4.parse_keys("nocolon")


# --- over a real socket with boto3 --------------------------------------------------------------


@pytest.fixture
def endpoint() -> Iterator[tuple[str, server.ApiServer]]:
    store = FakeStore({"ECSCluster": [cluster(f"c{i:02d}") for i in range(12)]})
    httpd = server.serve("127.0.0.1", 0, store, Settings(access_keys={"AKIDTEST": "s3cret"}, max_body=4096))  # type: ignore[arg-type]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def client(url: str, secret: str = "s3cret", akid: str = "AKIDTEST") -> Any:
    return boto3.client(
        "ecs", endpoint_url=url, region_name="us-east-1", aws_access_key_id=akid, aws_secret_access_key=secret
    )


def test_boto3_paginates_and_verifies_over_http(endpoint: tuple[str, server.ApiServer]) -> None:
    url, _ = endpoint
    pages = list(client(url).get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p["clusterArns"]) for p in pages] == [5, 5, 2]
    with pytest.raises(ClientError) as err:
        client(url, secret="nope").list_clusters()
    assert err.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as err:
        client(url, akid="AKIDWHO").list_clusters()
    assert err.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_oversized_body_is_refused_with_413(endpoint: tuple[str, server.ApiServer]) -> None:
    url, _ = endpoint
    conn = http.client.HTTPConnection(url.removeprefix("http://"))
    conn.request("POST", "/", body=b"{" + b" " * 5000 + b"}", headers={"X-Amz-Target": f"{ECS}.ListClusters"})
    resp = conn.getresponse()
    assert resp.status == 413
    assert json.loads(resp.read())["__type"] == "RequestEntityTooLargeException"
