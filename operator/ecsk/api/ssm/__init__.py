"""AWS Systems Manager Parameter Store (`AmazonSSM.*`) on labelled Kubernetes Secrets."""

from __future__ import annotations

from ecsk.api.registry import Service
from ecsk.api.ssm import parameters

SERVICE = Service(
    target_prefix="AmazonSSM",
    model="ssm",
    signing_name="ssm",
    validation_error="ValidationException",
    operations={
        "PutParameter": parameters.put_parameter,
        "GetParameter": parameters.get_parameter,
        "GetParameters": parameters.get_parameters,
        "GetParametersByPath": parameters.get_parameters_by_path,
        "DeleteParameter": parameters.delete_parameter,
        "DeleteParameters": parameters.delete_parameters,
        "DescribeParameters": parameters.describe_parameters,
        "LabelParameterVersion": parameters.label_parameter_version,
        "GetParameterHistory": parameters.get_parameter_history,
    },
)
