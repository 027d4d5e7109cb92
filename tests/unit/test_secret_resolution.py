"""A task's `secrets` resolved against the Secrets the AWS endpoint stores: which Secret and key a
reference reads, and the agent's ResourceInitializationError when it cannot (pure core)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from ecsk.core.models import TaskDefinition
from ecsk.core.tasks.status import derive_task_status
from ecsk.core.translate import names
from ecsk.core.translate.secrets import (
    env_file_failure,
    init_failure,
    json_data_keys,
    parse_env_file,
    secret_uses,
    unresolved,
)

SM = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"


def _td(*value_froms: str) -> TaskDefinition:
    return TaskDefinition.model_validate(
        {
            "family": "app",
            "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": "app:1",
                    "memory": 128,
                    "secrets": [{"name": f"S{i}", "valueFrom": v} for i, v in enumerate(value_froms)],
                }
            ],
        }
    )


def _stored(name: str, data: dict[str, str], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "annotations": {names.ANN_AWS_METADATA: json.dumps(meta or {})},
        },
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


@pytest.mark.parametrize(
    ("value_from", "secret", "key"),
    [
        ("/prod/db/pass", "ssm.prod.db.pass", "value"),
        ("arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/pass", "ssm.prod.db.pass", "value"),
        (SM, "sm.prod.db", "value"),
        (f"{SM}:password::", "sm.prod.db", "json.password"),
        (f"{SM}::AWSCURRENT:", "sm.prod.db", "value"),
        (
            f"{SM}:::1f2e3d4c-aaaa-bbbb-cccc-000000000000",
            "sm.prod.db",
            "v.1f2e3d4c-aaaa-bbbb-cccc-000000000000",
        ),
    ],
)
def test_a_reference_reads_the_stored_secret(value_from: str, secret: str, key: str) -> None:
    (use,) = secret_uses(_td(value_from))
    assert (use.secret, use.key) == (secret, key)


def test_everything_present_resolves() -> None:
    uses = secret_uses(_td("/prod/db/pass", f"{SM}:password::"))
    bodies = {
        "ssm.prod.db.pass": _stored("ssm.prod.db.pass", {"value": "x"}),
        "sm.prod.db": _stored("sm.prod.db", json_data_keys('{"password": "y"}'), {"arn": SM}),
    }
    assert [unresolved(u, bodies[u.secret]) for u in uses] == [None, None]
    assert init_failure([]) is None


def test_missing_ssm_parameters_are_named_together() -> None:
    uses = secret_uses(_td("/prod/a", "/prod/b"))
    reason = init_failure([(u, text) for u in uses if (text := unresolved(u, None))])
    assert reason == (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
        "retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 "
        "time(s): invalid ssm parameters: /prod/a /prod/b"
    )


def test_missing_secret_json_key_deleted_and_recreated() -> None:
    (whole,) = secret_uses(_td(SM))
    text = unresolved(whole, None)
    assert text is not None and f"failed to fetch secret {SM} from secrets manager" in text
    assert "ResourceNotFoundException: Secrets Manager can't find the specified secret." in text
    reason = init_failure([(whole, text)])
    assert reason is not None and reason.startswith(
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
        "retrieval failed: unable to retrieve secret from asm"
    )
    (keyed,) = secret_uses(_td(f"{SM}:username::"))
    present = _stored("sm.prod.db", json_data_keys('{"password": "y"}'), {"arn": SM})
    assert (
        unresolved(keyed, present)
        == "retrieved secret from Secrets Manager did not contain json key username"
    )
    scheduled = _stored("sm.prod.db", {"value": "v"}, {"arn": SM, "deleted": 1e12})
    assert unresolved(whole, scheduled) is not None
    recreated = _stored("sm.prod.db", {"value": "v"}, {"arn": SM[:-6] + "ZyXwVu"})
    assert unresolved(whole, recreated) is not None


def test_failure_text_never_carries_a_value() -> None:
    (keyed,) = secret_uses(_td(f"{SM}:username::"))
    present = _stored("sm.prod.db", json_data_keys('{"password": "hunter2-secret"}'), {"arn": SM})
    text = unresolved(keyed, present)
    assert text is not None and "hunter2" not in text


def test_json_data_keys_shapes() -> None:
    assert json_data_keys('{"a": "x", "n": 5, "o": {"k": 1}, "bad key": "z"}') == {
        "json.a": "x",
        "json.n": "5",
        "json.o": '{"k": 1}',
    }
    assert json_data_keys("not json") == {} and json_data_keys("[1, 2]") == {}


def test_env_file_rules() -> None:
    text = "# comment\n\nA=1\nURL=postgres://u@h/db?x=1\nEMPTY=\n  # indented comment\nnot a pair\n9BAD=x\n"
    found, problems = parse_env_file(text)
    assert found == {"A": "1", "URL": "postgres://u@h/db?x=1", "EMPTY": ""}
    assert problems == ["line 7: not in VARIABLE=VALUE form", "line 8: not in VARIABLE=VALUE form"]


def test_missing_env_file_reason() -> None:
    assert env_file_failure([]) is None
    reason = env_file_failure(["arn:aws:s3:::cfg/app.env"])
    assert reason == (
        "ResourceInitializationError: failed to download env files: NoSuchKey: The specified key "
        "does not exist: arn:aws:s3:::cfg/app.env"
    )


def _waiting_pod(message: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "web-1", "uid": "u-1"},
        "spec": {"nodeName": "kind-worker", "containers": [{"name": "web"}]},
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "web",
                    "state": {"waiting": {"reason": "CreateContainerConfigError", "message": message}},
                }
            ],
        },
    }


@pytest.mark.parametrize(
    ("kubelet", "reason"),
    [
        (
            'secret "ssm.app.api-key" not found',
            "ResourceInitializationError: unable to pull secrets or registry auth: "
            'secret "ssm.app.api-key" not found',
        ),
        (
            "couldn't find key json.username in Secret ns/sm.app.db",
            "ResourceInitializationError: unable to pull secrets or registry auth: couldn't find key "
            "json.username in Secret ns/sm.app.db",
        ),
        (
            'configmap "s3.cfg.app.env" not found',
            'ResourceInitializationError: failed to download env files: configmap "s3.cfg.app.env" not found',
        ),
        ("container has runAsNonRoot and image will run as root", None),
    ],
)
def test_kubelet_config_errors_read_as_the_agents(kubelet: str, reason: str | None) -> None:
    """On kind the kubelet fetches the Secrets of service tasks: its refusal is ECS's stop reason."""
    ts = derive_task_status(_waiting_pod(kubelet))
    assert ts.stopCode == "TaskFailedToStart"
    if reason is None:
        assert ts.stoppedReason == f"CannotCreateContainerError: {kubelet}"
    else:
        assert ts.stoppedReason == reason
