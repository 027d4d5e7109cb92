"""AWS App Runner (AWS JSON 1.0, `X-Amz-Target: AppRunner.<Operation>`) on AppRunnerService
resources, and its auto scaling configurations on AppRunnerAutoScalingConfiguration resources:
what `aws apprunner create-service` writes is what `kubectl get ars` shows."""

from __future__ import annotations

from ecsk.api.apprunner import scaling, services
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
        "CreateAutoScalingConfiguration": scaling.create_auto_scaling_configuration,
        "DescribeAutoScalingConfiguration": scaling.describe_auto_scaling_configuration,
        "ListAutoScalingConfigurations": scaling.list_auto_scaling_configurations,
        "DeleteAutoScalingConfiguration": scaling.delete_auto_scaling_configuration,
        "ListServicesForAutoScalingConfiguration": scaling.list_services_for_auto_scaling_configuration,
        "UpdateDefaultAutoScalingConfiguration": scaling.update_default_auto_scaling_configuration,
    },
)
