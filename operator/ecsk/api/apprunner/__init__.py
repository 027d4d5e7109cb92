"""AWS App Runner (AWS JSON 1.0, `X-Amz-Target: AppRunner.<Operation>`) on AppRunnerService
resources: what `aws apprunner create-service` writes is what `kubectl get ars` shows."""

from __future__ import annotations

from ecsk.api.apprunner import services
from ecsk.api.registry import Service

SERVICE = Service(
    target_prefix="AppRunner",
    model="apprunner",
    signing_name="apprunner",
    validation_error="InvalidRequestException",
    operations={
        "CreateService": services.create_service,
        "DescribeService": services.describe_service,
        "ListServices": services.list_services,
        "UpdateService": services.update_service,
        "DeleteService": services.delete_service,
        "PauseService": services.pause_service,
        "ResumeService": services.resume_service,
        "StartDeployment": services.start_deployment,
        "ListOperations": services.list_operations,
    },
)
