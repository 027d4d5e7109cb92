"""Naming rules (documented in docs/translation.md): deterministic, valid, collision-free."""

from __future__ import annotations

import re

import pytest

from ecsk.core.translate import names

SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def test_dns_label_keeps_valid_names_and_hashes_altered_ones() -> None:
    assert names.dns_label("web") == "web"
    assert names.dns_label("Web") == f"web-{names.short_hash('Web')}"
    assert names.dns_label("web_api") == f"web-api-{names.short_hash('web_api')}"
    assert names.dns_label("Web") != names.dns_label("web")
    assert names.dns_label("9lives").startswith("x-9lives-")
    long = "a" * 100
    assert len(names.dns_label(long)) == 63 and names.dns_label(long).endswith(names.short_hash(long))


def test_object_name_leaves_room_for_suffixes() -> None:
    name = names.object_name("x" * 80)
    assert len(name) <= 57 and len(f"{name}-nlb") <= 63


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        ("arn:aws:iam::123456789012:role/web-task", "iam-web-task"),
        ("arn:aws:iam::123456789012:role/service-role/web-task", "iam-web-task"),
    ],
)
def test_service_account_from_role_name(arn: str, expected: str) -> None:
    assert names.service_account_name(arn) == expected


def test_service_account_for_mixed_case_role_is_hashed() -> None:
    name = names.service_account_name("arn:aws:iam::1:role/WebTaskRole")
    assert name == f"iam-webtaskrole-{names.short_hash('WebTaskRole')}"


@pytest.mark.parametrize(
    ("value_from", "secret"),
    [
        ("arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password", "ssm.prod.db.password"),
        ("/prod/db/password", "ssm.prod.db.password"),
        ("db-password", "ssm.db-password"),
        ("arn:aws:ssm:us-east-1:123456789012:parameter/app-config", "ssm.app-config"),
    ],
)
def test_ssm_secret_names(value_from: str, secret: str) -> None:
    assert names.ssm_secret_name(value_from) == secret


def test_ssm_names_that_need_changes_get_a_hash() -> None:
    a = names.ssm_secret_name("/Prod/DB_Password")
    b = names.ssm_secret_name("/prod/db-password")
    assert a != b and a.startswith("ssm.prod.db-password-") and SUBDOMAIN.match(a)


def test_secrets_manager_arn_parts() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:1:secret:prod/api-AbCdEf:token:AWSCURRENT:"
    assert names.split_secretsmanager_arn(arn) == ("prod/api-AbCdEf", "token", "AWSCURRENT", None)
    assert names.split_secretsmanager_arn("arn:aws:secretsmanager:us-east-1:1:secret:db-Xy12Ab") == (
        "db-Xy12Ab",
        None,
        None,
        None,
    )
    plain = names.secretsmanager_secret_name("arn:aws:secretsmanager:us-east-1:1:secret:db-creds")
    assert plain == "sm.db-creds"
    assert SUBDOMAIN.match(names.secretsmanager_secret_name(arn))


def test_s3_configmap_names() -> None:
    assert names.s3_configmap_name("arn:aws:s3:::cfg/app/prod.env") == "s3.cfg.app.prod.env"
    odd = names.s3_configmap_name("arn:aws:s3:::cfg/App_Env/Prod.env")
    assert odd.startswith("s3.cfg.app-env.prod.env-") and SUBDOMAIN.match(odd)


def test_label_values_are_valid_and_injective() -> None:
    assert names.label_value("web") == "web"
    assert names.label_value("") == ""
    values = {names.label_value(v) for v in ("service:web", "service_web", "a" * 70, "a" * 71)}
    assert len(values) == 4
    assert all(len(v) <= 63 for v in values)


def test_task_local_names_are_friendly_unless_they_collide() -> None:
    assert names.task_local_names(["log_router", "App", "web"]) == {
        "log_router": "log-router",
        "App": "app",
        "web": "web",
    }
    clash = names.task_local_names(["a_b", "a-b"])
    assert clash["a-b"] == "a-b" and clash["a_b"].startswith("a-b-") and clash["a_b"] != "a-b"
    assert names.task_local_names(["x" * 70])["x" * 70].endswith(names.short_hash("x" * 70))
