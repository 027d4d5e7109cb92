"""Which AWS service answers a request: the `X-Amz-Target` prefix picks one, its model checks the input.

Adding a service (ECR, SSM, Secrets Manager, CloudWatch Logs) is one module with a `SERVICE`
and one line in `services()`; the endpoint, authentication and error handling stay shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from ecsk.api.context import Handler


@dataclass(frozen=True)
class Service:
    target_prefix: str
    """The part of `X-Amz-Target` before the dot (`AmazonEC2ContainerServiceV20141113`)."""
    model: str
    """botocore's service name, whose service-2.json validates the input."""
    signing_name: str
    validation_error: str
    """The exception type the service uses for constraint violations."""
    operations: Mapping[str, Handler]


@lru_cache(maxsize=1)
def services() -> dict[str, Service]:
    from ecsk.api import apprunner, autoscaling, ecr, ecs, logs, secretsmanager, ssm

    found = [
        ecs.SERVICE, autoscaling.SERVICE, ecr.SERVICE, ssm.SERVICE, secretsmanager.SERVICE, logs.SERVICE,
        apprunner.SERVICE,
    ]  # fmt: skip
    return {s.target_prefix: s for s in found}
