"""SSM Parameter Store and Secrets Manager against a live cluster, with boto3 and the aws CLI:
the values land in labelled Kubernetes Secrets that kubectl sees, and AWS's errors come back."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from kubectl import kubectl
from test_api_live import aws, client, endpoint

__all__ = ["endpoint"]  # the fixture, shared with test_api_live

pytestmark = pytest.mark.integration


def _secret(kubeconfig: str, ns: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        kubectl(kubeconfig, "get", "secret", name, "-n", ns, "-o", "json").stdout
    )
    return body


def test_ssm_parameters_with_cli_and_boto3(endpoint: str, operator_ns: str, kubeconfig: str) -> None:
    out = json.loads(
        aws(endpoint, "ssm", "put-parameter", "--name", "/workshop/api-key", "--value", "k-123",
            "--type", "SecureString").stdout
    )  # fmt: skip
    assert out == {"Version": 1, "Tier": "Standard"}
    ssm = client("ssm", endpoint)
    assert ssm.get_parameter(Name="/workshop/api-key", WithDecryption=True)["Parameter"]["Value"] == "k-123"
    shown = json.loads(
        aws(endpoint, "ssm", "get-parameter", "--name", "/workshop/api-key", "--with-decryption").stdout
    )
    assert shown["Parameter"]["Value"] == "k-123"
    secret = _secret(kubeconfig, operator_ns, "ssm.workshop.api-key")
    assert secret["metadata"]["labels"]["ecs.ecsk.io/store"] == "ssm"
    assert base64.b64decode(secret["data"]["value"]).decode() == "k-123"
    assert "k-123" not in json.dumps(secret["metadata"])
    ssm.put_parameter(Name="/workshop/api-key", Value="k-456", Overwrite=True)
    listed = kubectl(
        kubeconfig, "get", "secrets", "-n", operator_ns, "-l", "ecs.ecsk.io/store=ssm", "-o", "name"
    )
    assert listed.stdout.split() == ["secret/ssm.workshop.api-key"]
    by_path = ssm.get_parameters_by_path(Path="/workshop", WithDecryption=True)["Parameters"]
    assert [(p["Name"], p["Value"], p["Version"]) for p in by_path] == [("/workshop/api-key", "k-456", 2)]
    bad = aws(
        endpoint, "ssm", "put-parameter", "--name", "/aws/x", "--value", "v", "--type", "String", check=False
    )
    assert bad.returncode != 0 and "ValidationException" in bad.stderr and "can't be prefixed" in bad.stderr
    missing = aws(endpoint, "ssm", "get-parameter", "--name", "/workshop/none", check=False)
    assert missing.returncode != 0 and "ParameterNotFound" in missing.stderr
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="/workshop/api-key", Value="v", Type="String")
    assert err.value.response["Error"]["Code"] == "ParameterAlreadyExists"
    ssm.delete_parameter(Name="/workshop/api-key")
    assert (
        kubectl(
            kubeconfig, "get", "secrets", "-n", operator_ns, "-l", "ecs.ecsk.io/store=ssm", "-o", "name"
        ).stdout
        == ""
    )


def test_secrets_manager_with_cli_and_boto3(endpoint: str, operator_ns: str, kubeconfig: str) -> None:
    doc = json.dumps({"username": "app", "password": "pw-1"})
    made = json.loads(
        aws(
            endpoint, "secretsmanager", "create-secret", "--name", "workshop/db", "--secret-string", doc
        ).stdout
    )
    assert made["ARN"].startswith("arn:aws:secretsmanager:eu-central-1:123456789012:secret:workshop/db-")
    sm = client("secretsmanager", endpoint)
    sm.put_secret_value(
        SecretId=made["ARN"], SecretString=json.dumps({"username": "app", "password": "pw-2"})
    )
    got = json.loads(aws(endpoint, "secretsmanager", "get-secret-value", "--secret-id", "workshop/db").stdout)
    assert json.loads(got["SecretString"])["password"] == "pw-2" and got["VersionStages"] == ["AWSCURRENT"]
    previous = sm.get_secret_value(SecretId="workshop/db", VersionStage="AWSPREVIOUS")
    assert json.loads(previous["SecretString"])["password"] == "pw-1"
    secret = _secret(kubeconfig, operator_ns, "sm.workshop.db")
    assert base64.b64decode(secret["data"]["json.password"]).decode() == "pw-2"
    assert "pw-" not in json.dumps(secret["metadata"])
    sm.delete_secret(SecretId="workshop/db", RecoveryWindowInDays=7)
    refused = aws(endpoint, "secretsmanager", "get-secret-value", "--secret-id", "workshop/db", check=False)
    assert refused.returncode != 0 and "InvalidRequestException" in refused.stderr
    sm.restore_secret(SecretId="workshop/db")
    listed = json.loads(aws(endpoint, "secretsmanager", "list-secrets").stdout)["SecretList"]
    assert [s["Name"] for s in listed] == ["workshop/db"]
    sm.delete_secret(SecretId="workshop/db", ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as err:
        sm.describe_secret(SecretId="workshop/db")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
