"""SSM Parameter Store and Secrets Manager on the endpoint, driven by boto3 against an in-process
server whose store is an in-memory stand-in for the Kubernetes API (Secrets with
resourceVersions, label selectors and 409 conflicts), so the storage layout is checked too."""

from __future__ import annotations

import base64
import copy
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
from ecsk.api.store import Conflict

REGION, ACCOUNT = "eu-central-1", "123456789012"


class SecretStore:
    """Secrets only, as the API server keeps them: data base64, resourceVersion checked on PUT."""

    namespace = "test"

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.rv = 0
        self.lock = threading.Lock()

    def _stamp(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.objects[obj["metadata"]["name"]] = obj
        return copy.deepcopy(obj)

    def get(self, kind: str, name: str, fresh: bool = False) -> dict[str, Any] | None:
        assert kind == "Secret"
        with self.lock:
            found = self.objects.get(name)
            return copy.deepcopy(found) if found else None

    def list(self, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
        key, _, value = (selector or "").partition("=")
        with self.lock:
            return [
                copy.deepcopy(o)
                for o in self.objects.values()
                if not key or (o["metadata"].get("labels") or {}).get(key) == value
            ]

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if obj["metadata"]["name"] in self.objects:
                raise Conflict("exists")
            return self._stamp(obj)

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            live = self.objects.get(obj["metadata"]["name"])
            if live is None or live["metadata"]["resourceVersion"] != obj["metadata"].get("resourceVersion"):
                raise Conflict("changed")
            return self._stamp(obj)

    def delete(self, kind: str, name: str, propagation: str = "Background") -> bool:
        with self.lock:
            return self.objects.pop(name, None) is not None

    def values(self, name: str) -> dict[str, str]:
        data = self.objects[name].get("data") or {}
        return {k: base64.b64decode(v).decode() for k, v in data.items()}


@pytest.fixture
def store() -> SecretStore:
    return SecretStore()


@pytest.fixture
def url(store: SecretStore) -> Iterator[str]:
    httpd = server.serve("127.0.0.1", 0, store, Settings(region=REGION, account=ACCOUNT))  # type: ignore[arg-type]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


@pytest.fixture
def ssm(url: str) -> Any:
    return _client("ssm", url)


@pytest.fixture
def sm(url: str) -> Any:
    return _client("secretsmanager", url)


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _message(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Message"])


# --- SSM: put, get, versions ------------------------------------------------------------------


def test_put_get_versions_and_storage_layout(ssm: Any, store: SecretStore) -> None:
    made = ssm.put_parameter(Name="/prod/db/host", Value="db1", Type="String")
    assert (made["Version"], made["Tier"]) == (1, "Standard")
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="/prod/db/host", Value="db2", Type="String")
    assert _code(err) == "ParameterAlreadyExists"
    assert ssm.put_parameter(Name="/prod/db/host", Value="db2", Overwrite=True)["Version"] == 2
    got = ssm.get_parameter(Name="/prod/db/host")["Parameter"]
    assert (got["Value"], got["Version"], got["Type"]) == ("db2", 2, "String")
    assert got["ARN"] == f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/prod/db/host"
    assert ssm.get_parameter(Name="/prod/db/host:1")["Parameter"]["Value"] == "db1"
    assert ssm.get_parameter(Name=got["ARN"])["Parameter"]["Value"] == "db2"
    body = store.objects["ssm.prod.db.host"]
    assert body["metadata"]["labels"]["ecs.ecsk.io/store"] == "ssm"
    assert store.values("ssm.prod.db.host") == {"value": "db2", "v1": "db1", "v2": "db2"}
    assert "db1" not in json.dumps(body["metadata"])  # values never in metadata
    with pytest.raises(ClientError) as err:
        ssm.get_parameter(Name="/prod/db/host:7")
    assert _code(err) == "ParameterVersionNotFound"
    with pytest.raises(ClientError) as err:
        ssm.get_parameter(Name="/prod/nothing")
    assert _code(err) == "ParameterNotFound"


def test_securestring_needs_decryption_to_show_the_value(ssm: Any) -> None:
    ssm.put_parameter(Name="/prod/api-key", Value="s3cr3t-value", Type="SecureString")
    hidden = ssm.get_parameter(Name="/prod/api-key")["Parameter"]
    assert hidden["Value"] != "s3cr3t-value" and "s3cr3t" not in hidden["Value"]
    shown = ssm.get_parameter(Name="/prod/api-key", WithDecryption=True)["Parameter"]
    assert shown["Value"] == "s3cr3t-value"
    meta = ssm.describe_parameters()["Parameters"][0]
    assert meta["KeyId"] == "alias/aws/ssm" and meta["Type"] == "SecureString"


def test_get_parameters_reports_invalid_names(ssm: Any) -> None:
    ssm.put_parameter(Name="plain", Value="a,b,c", Type="StringList")
    out = ssm.get_parameters(Names=["plain", "/ghost", "plain:9"])
    assert [p["Name"] for p in out["Parameters"]] == ["plain"]
    assert out["Parameters"][0]["Value"] == "a,b,c"
    assert sorted(out["InvalidParameters"]) == ["/ghost", "plain:9"]


def test_get_parameters_by_path_recursive_and_paged(ssm: Any) -> None:
    for name in ("/app/a", "/app/b", "/app/c", "/app/deep/x", "/other/z"):
        ssm.put_parameter(Name=name, Value=name, Type="String")
    one_level = ssm.get_parameters_by_path(Path="/app")["Parameters"]
    assert [p["Name"] for p in one_level] == ["/app/a", "/app/b", "/app/c"]
    first = ssm.get_parameters_by_path(Path="/app/", Recursive=True, MaxResults=2)
    assert [p["Name"] for p in first["Parameters"]] == ["/app/a", "/app/b"]
    rest = ssm.get_parameters_by_path(Path="/app/", Recursive=True, NextToken=first["NextToken"])
    assert [p["Name"] for p in rest["Parameters"]] == ["/app/c", "/app/deep/x"]
    assert "NextToken" not in rest
    paginator = ssm.get_paginator("get_parameters_by_path")
    names = [
        p["Name"]
        for page in paginator.paginate(Path="/", Recursive=True, MaxResults=1)
        for p in page["Parameters"]
    ]
    assert names == ["/app/a", "/app/b", "/app/c", "/app/deep/x", "/other/z"]
    with pytest.raises(ClientError) as err:
        ssm.get_parameters_by_path(Path="app")
    assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        ssm.get_parameters_by_path(Path="/app", NextToken="garbage")
    assert _code(err) == "InvalidNextToken"


def test_labels_move_between_versions(ssm: Any) -> None:
    ssm.put_parameter(Name="/cfg/mode", Value="blue", Type="String")
    ssm.put_parameter(Name="/cfg/mode", Value="green", Type="String", Overwrite=True)
    out = ssm.label_parameter_version(Name="/cfg/mode", ParameterVersion=1, Labels=["live", "9bad", "awsx"])
    assert out["ParameterVersion"] == 1 and sorted(out["InvalidLabels"]) == ["9bad", "awsx"]
    assert ssm.get_parameter(Name="/cfg/mode:live")["Parameter"]["Value"] == "blue"
    ssm.label_parameter_version(Name="/cfg/mode", Labels=["live"])  # latest by default
    got = ssm.get_parameter(Name="/cfg/mode:live")["Parameter"]
    assert (got["Value"], got["Selector"]) == ("green", ":live")
    history = ssm.get_parameter_history(Name="/cfg/mode")["Parameters"]
    assert [(h["Version"], h["Labels"]) for h in history] == [(1, []), (2, ["live"])]
    with pytest.raises(ClientError) as err:
        ssm.label_parameter_version(Name="/cfg/mode", ParameterVersion=5, Labels=["x"])
    assert _code(err) == "ParameterVersionNotFound"


def test_delete_parameter_and_parameters(ssm: Any, store: SecretStore) -> None:
    ssm.put_parameter(Name="/x/one", Value="1", Type="String")
    ssm.put_parameter(Name="/x/two", Value="2", Type="String")
    ssm.delete_parameter(Name="/x/one")
    with pytest.raises(ClientError) as err:
        ssm.delete_parameter(Name="/x/one")
    assert _code(err) == "ParameterNotFound"
    out = ssm.delete_parameters(Names=["/x/two", "/x/ghost"])
    assert out["DeletedParameters"] == ["/x/two"] and out["InvalidParameters"] == ["/x/ghost"]
    assert store.objects == {}


def test_describe_parameters_filters(ssm: Any) -> None:
    ssm.put_parameter(Name="/team/a", Value="1", Type="String", Description="first")
    ssm.put_parameter(Name="/team/b", Value="2", Type="SecureString", Tags=[{"Key": "env", "Value": "prod"}])
    ssm.put_parameter(Name="solo", Value="3", Type="String")
    names = lambda **kw: [p["Name"] for p in ssm.describe_parameters(**kw)["Parameters"]]  # noqa: E731
    assert names() == ["/team/a", "/team/b", "solo"]
    assert names(ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}]) == ["/team/b"]
    assert names(ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": ["/team"]}]) == [
        "/team/a",
        "/team/b",
    ]
    assert names(ParameterFilters=[{"Key": "Path", "Option": "OneLevel", "Values": ["/team"]}]) == [
        "/team/a",
        "/team/b",
    ]
    assert names(ParameterFilters=[{"Key": "tag:env", "Values": ["prod"]}]) == ["/team/b"]
    assert names(Filters=[{"Key": "Name", "Values": ["solo"]}]) == ["solo"]
    assert ssm.describe_parameters(MaxResults=1)["Parameters"][0]["Description"] == "first"
    with pytest.raises(ClientError) as err:
        ssm.describe_parameters(ParameterFilters=[{"Key": "Label", "Values": ["x"]}])
    assert _code(err) == "InvalidFilterKey"


# --- SSM: bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("/aws/thing", "ValidationException", "can't be prefixed with"),
        ("SSM-param", "ValidationException", "can't be prefixed with"),
        ("/has space", "ValidationException", "can't be prefixed with"),
        ("a/b", "ValidationException", "fully qualified"),
        ("/" + "/".join("l" for _ in range(16)), "HierarchyLevelLimitExceededException", "15 levels"),
        ("/" + "n" * 1000, "ValidationException", "1011"),
    ],
)
def test_parameter_name_rules(ssm: Any, name: str, code: str, words: str) -> None:
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name=name, Value="v", Type="String")
    assert _code(err) == code and words in _message(err)


def test_value_sizes_per_tier_and_patterns(ssm: Any) -> None:
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="/big", Value="x" * 4097, Type="String")
    assert _code(err) == "ValidationException" and "maximum parameter value of 4096" in _message(err)
    assert (
        ssm.put_parameter(Name="/big", Value="x" * 4097, Type="String", Tier="Advanced")["Tier"] == "Advanced"
    )
    assert ssm.put_parameter(Name="/auto", Value="x" * 5000, Type="String", Tier="Intelligent-Tiering")[
        "Tier"
    ] == ("Advanced")
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="/big", Value="small", Tier="Standard", Overwrite=True)
    assert "can't downgrade" in _message(err)
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="/num", Value="abc", Type="String", AllowedPattern=r"^\d+$")
    assert _code(err) == "ParameterPatternMismatchException"
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="/new", Value="v")
    assert "type is required" in _message(err)
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="/t", Value="v", Type="Number")  # not in the model's enum
    assert _code(err) == "ValidationException" and "enum value set" in _message(err)
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="/ami", Value="not-an-ami", Type="String", DataType="aws:ec2:image")
    assert _code(err) == "ValidationException"


def test_hundred_versions_keep_the_newest(ssm: Any, store: SecretStore) -> None:
    ssm.put_parameter(Name="/churn", Value="0", Type="String")
    for i in range(1, 101):
        ssm.put_parameter(Name="/churn", Value=str(i), Overwrite=True)
    history = ssm.get_parameter_history(Name="/churn", MaxResults=50)
    assert history["Parameters"][0]["Version"] == 2
    assert "v1" not in store.values("ssm.churn")
    ssm.label_parameter_version(Name="/churn", ParameterVersion=2, Labels=["pinned"])
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="/churn", Value="next", Overwrite=True)
    assert _code(err) == "ParameterMaxVersionLimitExceeded"


# --- Secrets Manager --------------------------------------------------------------------------


def test_secret_lifecycle_versions_and_layout(sm: Any, store: SecretStore) -> None:
    made = sm.create_secret(
        Name="prod/db", SecretString=json.dumps({"user": "app", "password": "pw1", "port": 5432})
    )
    assert made["ARN"].startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db-")
    assert len(made["ARN"].rsplit("-", 1)[1]) == 6
    stored = store.values("sm.prod.db")
    assert stored["json.password"] == "pw1" and stored["json.port"] == "5432"
    assert json.loads(stored["value"])["user"] == "app"
    v2 = sm.put_secret_value(
        SecretId=made["ARN"], SecretString=json.dumps({"user": "app", "password": "pw2"})
    )
    assert v2["VersionStages"] == ["AWSCURRENT"]
    assert json.loads(sm.get_secret_value(SecretId="prod/db")["SecretString"])["password"] == "pw2"
    previous = sm.get_secret_value(SecretId="prod/db", VersionStage="AWSPREVIOUS")
    assert (json.loads(previous["SecretString"])["password"], previous["VersionId"]) == (
        "pw1",
        made["VersionId"],
    )
    assert sm.get_secret_value(SecretId="prod/db", VersionId=made["VersionId"])["VersionStages"] == [
        "AWSPREVIOUS"
    ]
    assert store.values("sm.prod.db")["json.password"] == "pw2"
    assert "json.port" not in store.values("sm.prod.db")
    described = sm.describe_secret(SecretId=made["ARN"][:-7])  # a partial ARN works too
    assert described["VersionIdsToStages"] == {
        made["VersionId"]: ["AWSPREVIOUS"],
        v2["VersionId"]: ["AWSCURRENT"],
    }
    assert "pw1" not in json.dumps(store.objects["sm.prod.db"]["metadata"])
    sm.put_secret_value(SecretId="prod/db", SecretString="third")
    stages = sm.describe_secret(SecretId="prod/db")["VersionIdsToStages"]
    assert made["VersionId"] not in stages and sorted(map(tuple, stages.values())) == [
        ("AWSCURRENT",),
        ("AWSPREVIOUS",),
    ]


def test_wrong_suffix_arn_is_not_found(sm: Any) -> None:
    made = sm.create_secret(Name="svc", SecretString="x")
    with pytest.raises(ClientError) as err:
        sm.get_secret_value(SecretId=made["ARN"][:-6] + "ZZZZZZ")
    assert _code(err) == "ResourceNotFoundException"


def test_update_secret_binary_and_idempotent_token(sm: Any) -> None:
    sm.create_secret(Name="bin", SecretBinary=b"\x00\x01raw", Description="old")
    assert sm.get_secret_value(SecretId="bin")["SecretBinary"] == b"\x00\x01raw"
    token = "a" * 32
    first = sm.update_secret(SecretId="bin", SecretString="text", Description="new", ClientRequestToken=token)
    again = sm.put_secret_value(SecretId="bin", SecretString="text", ClientRequestToken=token)
    assert first["VersionId"] == again["VersionId"] == token
    with pytest.raises(ClientError) as err:
        sm.put_secret_value(SecretId="bin", SecretString="other", ClientRequestToken=token)
    assert _code(err) == "ResourceExistsException"
    assert sm.describe_secret(SecretId="bin")["Description"] == "new"
    with pytest.raises(ClientError) as err:
        sm.create_secret(Name="two", SecretString="a", SecretBinary=b"b")
    assert _code(err) == "InvalidParameterException"


def test_delete_with_recovery_and_restore(sm: Any, store: SecretStore) -> None:
    sm.create_secret(Name="tmp", SecretString="v")
    deleted = sm.delete_secret(SecretId="tmp", RecoveryWindowInDays=7)
    assert "DeletionDate" in deleted
    for call in (
        lambda: sm.get_secret_value(SecretId="tmp"),
        lambda: sm.put_secret_value(SecretId="tmp", SecretString="n"),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "InvalidRequestException" and "marked for deletion" in _message(err)
    with pytest.raises(ClientError) as err:
        sm.create_secret(Name="tmp", SecretString="again")
    assert _code(err) == "InvalidRequestException"
    assert sm.list_secrets()["SecretList"] == []
    assert [s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]] == ["tmp"]
    assert "DeletedDate" in sm.describe_secret(SecretId="tmp")
    sm.restore_secret(SecretId="tmp")
    assert sm.get_secret_value(SecretId="tmp")["SecretString"] == "v"
    sm.delete_secret(SecretId="tmp", ForceDeleteWithoutRecovery=True)
    assert store.objects == {}
    with pytest.raises(ClientError) as err:
        sm.describe_secret(SecretId="tmp")
    assert _code(err) == "ResourceNotFoundException"


def test_expired_recovery_window_removes_the_secret(sm: Any, store: SecretStore) -> None:
    sm.create_secret(Name="old", SecretString="v")
    sm.delete_secret(SecretId="old")
    body = store.objects["sm.old"]
    meta = json.loads(body["metadata"]["annotations"]["ecs.ecsk.io/aws-metadata"])
    meta["deleted"] = 1.0  # the window ended long ago
    body["metadata"]["annotations"]["ecs.ecsk.io/aws-metadata"] = json.dumps(meta)
    with pytest.raises(ClientError) as err:
        sm.describe_secret(SecretId="old")
    assert _code(err) == "ResourceNotFoundException"
    assert store.objects == {}


def test_delete_argument_rules(sm: Any) -> None:
    sm.create_secret(Name="d", SecretString="v")
    with pytest.raises(ClientError) as err:
        sm.delete_secret(SecretId="d", RecoveryWindowInDays=3)
    assert _code(err) == "InvalidParameterException" and "between 7 and 30" in _message(err)
    with pytest.raises(ClientError) as err:
        sm.delete_secret(SecretId="d", RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert "in conjunction with" in _message(err)


def test_secret_names_sizes_and_duplicates(sm: Any) -> None:
    with pytest.raises(ClientError) as err:
        sm.create_secret(Name="bad name#", SecretString="v")
    assert _code(err) == "ValidationException" and "Invalid name" in _message(err)
    with pytest.raises(ClientError) as err:
        sm.create_secret(Name="huge", SecretString="x" * 65537)
    assert _code(err) == "ValidationException" and "less than or equal to 65536" in _message(err)
    assert "xxxx" not in _message(err)  # a sensitive value is never echoed in an error
    sm.create_secret(Name="dup", SecretString="v")
    with pytest.raises(ClientError) as err:
        sm.create_secret(Name="dup", SecretString="w")
    assert _code(err) == "ResourceExistsException"
    with pytest.raises(ClientError) as err:
        sm.get_secret_value(SecretId="nope")
    assert _code(err) == "ResourceNotFoundException"
    sm.create_secret(Name="empty")
    with pytest.raises(ClientError) as err:
        sm.get_secret_value(SecretId="empty")
    assert "staging label: AWSCURRENT" in _message(err)


def test_list_secrets_filters_sort_and_pages(sm: Any) -> None:
    for name, desc, tag in (
        ("alpha", "Database login", "db"),
        ("beta", "api key", "api"),
        ("gamma", "other", "db"),
    ):
        sm.create_secret(Name=name, SecretString="v", Description=desc, Tags=[{"Key": "kind", "Value": tag}])
    names = lambda **kw: [s["Name"] for s in sm.list_secrets(**kw)["SecretList"]]  # noqa: E731
    assert names() == ["alpha", "beta", "gamma"]
    assert names(SortOrder="desc") == ["gamma", "beta", "alpha"]
    assert names(Filters=[{"Key": "tag-value", "Values": ["db"]}]) == ["alpha", "gamma"]
    assert names(Filters=[{"Key": "description", "Values": ["data"]}]) == ["alpha"]
    assert names(Filters=[{"Key": "name", "Values": ["!alpha"]}]) == ["beta", "gamma"]
    assert names(Filters=[{"Key": "all", "Values": ["key"]}]) == ["beta"]
    first = sm.list_secrets(MaxResults=2)
    assert [s["Name"] for s in first["SecretList"]] == ["alpha", "beta"]
    assert [s["Name"] for s in sm.list_secrets(NextToken=first["NextToken"])["SecretList"]] == ["gamma"]


def test_names_sharing_a_kubernetes_name_are_refused_not_merged(ssm: Any) -> None:
    ssm.put_parameter(Name="flat", Value="one", Type="String")
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="/flat", Value="two", Type="String")  # both would be Secret ssm.flat
    assert _code(err) == "ValidationException" and "'flat'" in _message(err)
    assert ssm.get_parameter(Name="flat")["Parameter"]["Value"] == "one"
    with pytest.raises(ClientError) as err:
        ssm.get_parameter(Name="/flat")
    assert _code(err) == "ParameterNotFound"
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/flat"
    assert ssm.get_parameter(Name=arn)["Parameter"]["Name"] == "flat"
