"""AWS Secrets Manager (`secretsmanager.*`) on labelled Kubernetes Secrets."""

from __future__ import annotations

from ecsk.api.registry import Service
from ecsk.api.secretsmanager import secrets

SERVICE = Service(
    target_prefix="secretsmanager",
    model="secretsmanager",
    signing_name="secretsmanager",
    validation_error="ValidationException",
    operations={
        "CreateSecret": secrets.create_secret,
        "GetSecretValue": secrets.get_secret_value,
        "PutSecretValue": secrets.put_secret_value,
        "UpdateSecret": secrets.update_secret,
        "DescribeSecret": secrets.describe_secret,
        "ListSecrets": secrets.list_secrets,
        "DeleteSecret": secrets.delete_secret,
        "RestoreSecret": secrets.restore_secret,
    },
)
