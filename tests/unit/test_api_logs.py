"""CloudWatch Logs on the endpoint, through boto3: groups and streams named as the awslogs driver
names them, events from the pods' kubelet logs, and a refusal for pods on simulated nodes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ecsk.api import server
from ecsk.api.context import Settings
from ecsk.api.logs.streams import parse
from ecsk.api.store import Conflict

UID = "0b9e3c1a-1111-2222-3333-444455556666"
TASK_ID = UID.replace("-", "")


def _pod(name: str, uid: str, node: str, group: str = "/ecs/web") -> dict[str, Any]:
    conf = {
        "web": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": group,
                "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "ecs",
            },
        },
        "sidecar": {"logDriver": "json-file"},
    }
    return {
        "metadata": {
            "name": name,
            "uid": uid,
            "creationTimestamp": "2026-12-04T10:00:00Z",
            "annotations": {"ecs.ecsk.io/log-configuration": json.dumps(conf)},
        },
        "spec": {"nodeName": node},
    }


LOG = (
    "2026-12-04T10:00:01.000000001Z starting web\n"
    "2026-12-04T10:00:02.5Z GET /health 200\n"
    "2026-12-04T10:00:03Z ERROR db timeout\n"
    "2026-12-04T10:00:04Z GET /orders 500 ERROR\n"
)


class LogStore:
    namespace = "test"

    def __init__(self) -> None:
        self.pods = [_pod("web-1", UID, "kind-worker"), _pod("web-sim", "9" * 32, "sim-1", "/ecs/sim")]
        self.nodes = {
            "kind-worker": {"metadata": {"name": "kind-worker", "annotations": {}}},
            "sim-1": {"metadata": {"name": "sim-1", "annotations": {"kwok.x-k8s.io/node": "fake"}}},
        }

        self.config_maps: dict[str, dict[str, Any]] = {}

    def list(self, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
        if kind == "ConfigMap":
            assert selector == "ecs.ecsk.io/store=logs"
            return list(self.config_maps.values())
        assert kind == "Pod"
        return self.pods

    def get(self, kind: str, name: str, fresh: bool = False) -> dict[str, Any] | None:
        if kind == "ConfigMap":
            return self.config_maps.get(name)
        assert kind == "Node"
        return self.nodes.get(name)

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        assert obj["kind"] == "ConfigMap" and obj["metadata"]["namespace"] == "test"
        if obj["metadata"]["name"] in self.config_maps:
            raise Conflict(obj["metadata"]["name"])
        self.config_maps[obj["metadata"]["name"]] = obj
        return obj

    def merge_patch(self, kind: str, name: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        cm = self.config_maps.get(name)
        if cm is None:
            return None
        for key, value in patch["data"].items():
            if value is None:
                cm["data"].pop(key, None)
            else:
                cm["data"][key] = value
        return cm

    def delete(self, kind: str, name: str) -> bool:
        return self.config_maps.pop(name, None) is not None

    def pod_log(self, pod: str, container: str) -> str | None:
        assert (pod, container) == ("web-1", "web")
        return LOG


@pytest.fixture
def logs() -> Iterator[Any]:
    httpd = server.serve("127.0.0.1", 0, LogStore(), Settings())  # type: ignore[arg-type]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield boto3.client(
            "logs",
            endpoint_url=f"http://127.0.0.1:{httpd.server_address[1]}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"max_attempts": 1}),
        )
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_groups_and_streams_named_like_awslogs(logs: Any) -> None:
    groups = logs.describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/ecs/sim", "/ecs/web"]
    assert groups[1]["arn"] == "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:*"
    assert [
        g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/ecs/w")["logGroups"]
    ] == ["/ecs/web"]
    streams = logs.describe_log_streams(logGroupName="/ecs/web")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [f"ecs/web/{TASK_ID}"]  # json-file sidecar: no stream
    with pytest.raises(ClientError) as err:
        logs.describe_log_streams(logGroupName="/ecs/none")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_created_groups_retention_and_delete(logs: Any) -> None:
    logs.create_log_group(logGroupName="/ecs/api", tags={"team": "shop"})
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName="/ecs/api")
    assert exc.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    assert exc.value.response["Error"]["Message"] == "The specified log group already exists"
    logs.put_retention_policy(logGroupName="/ecs/api", retentionInDays=14)
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
    assert sorted(groups) == ["/ecs/api", "/ecs/sim", "/ecs/web"]  # created + written to by tasks
    assert groups["/ecs/api"]["retentionInDays"] == 14
    assert "retentionInDays" not in groups["/ecs/web"]
    assert groups["/ecs/api"]["creationTime"] > 1700000000000

    with pytest.raises(ClientError) as exc:
        logs.put_retention_policy(logGroupName="/ecs/api", retentionInDays=2)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "retentionInDays" in exc.value.response["Error"]["Message"]
    logs.delete_retention_policy(logGroupName="/ecs/api")
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix="/ecs/api")["logGroups"][0]

    logs.delete_log_group(logGroupName="/ecs/api")
    for call in (logs.delete_log_group, logs.delete_retention_policy):
        with pytest.raises(ClientError) as exc:
            call(logGroupName="/ecs/api")
        assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert exc.value.response["Error"]["Message"] == "The specified log group does not exist."
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName="/ecs/bad name")
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "logGroupName" in exc.value.response["Error"]["Message"]


def test_get_log_events_pages_with_stable_end_token(logs: Any) -> None:
    stream = f"ecs/web/{TASK_ID}"
    first = logs.get_log_events(logGroupName="/ecs/web", logStreamName=stream, startFromHead=True, limit=3)
    assert [e["message"] for e in first["events"]] == ["starting web", "GET /health 200", "ERROR db timeout"]
    assert first["events"][1]["timestamp"] == 1796378402500
    rest = logs.get_log_events(
        logGroupName="/ecs/web", logStreamName=stream, nextToken=first["nextForwardToken"]
    )
    assert [e["message"] for e in rest["events"]] == ["GET /orders 500 ERROR"]
    end = logs.get_log_events(
        logGroupName="/ecs/web", logStreamName=stream, nextToken=rest["nextForwardToken"]
    )
    assert end["events"] == [] and end["nextForwardToken"] == rest["nextForwardToken"]
    tail = logs.get_log_events(logGroupName="/ecs/web", logStreamName=stream, limit=1)
    assert [e["message"] for e in tail["events"]] == ["GET /orders 500 ERROR"]
    with pytest.raises(ClientError) as err:
        logs.get_log_events(logGroupName="/ecs/web", logStreamName="ecs/web/nope")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("ERROR", ["ERROR db timeout", "GET /orders 500 ERROR"]),
        ("ERROR -timeout", ["GET /orders 500 ERROR"]),
        ('"GET /health"', ["GET /health 200"]),
        ("?starting ?timeout", ["starting web", "ERROR db timeout"]),
        ("", ["starting web", "GET /health 200", "ERROR db timeout", "GET /orders 500 ERROR"]),
    ],
)
def test_filter_patterns(logs: Any, pattern: str, expected: list[str]) -> None:
    out = logs.filter_log_events(logGroupName="/ecs/web", filterPattern=pattern)
    assert [e["message"] for e in out["events"]] == expected
    assert all(e["logStreamName"] == f"ecs/web/{TASK_ID}" for e in out["events"])


def test_filter_time_window_and_json_patterns(logs: Any) -> None:
    out = logs.filter_log_events(logGroupName="/ecs/web", startTime=1796378402000, endTime=1796378403000)
    assert [e["message"] for e in out["events"]] == ["GET /health 200"]
    with pytest.raises(ClientError) as err:
        logs.filter_log_events(logGroupName="/ecs/web", filterPattern='{ $.level = "error" }')
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_simulated_node_is_said_not_empty(logs: Any) -> None:
    with pytest.raises(ClientError) as err:
        logs.filter_log_events(logGroupName="/ecs/sim")
    assert err.value.response["Error"]["Code"] == "InvalidOperationException"
    assert "simulated node sim-1" in err.value.response["Error"]["Message"]


def test_parse_keeps_continuation_lines() -> None:
    events = parse("2026-12-04T10:00:00Z Traceback:\n  line two\n2026-12-04T10:00:01Z next\n")
    assert [e.message for e in events] == ["Traceback:\n  line two", "next"]
