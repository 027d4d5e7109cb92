"""Amazon CloudWatch Logs (`Logs_20140328.*`): the awslogs driver's groups and streams, read from
the task pods' real output through the Kubernetes API."""

from __future__ import annotations

from ecsk.api.logs import groups, operations
from ecsk.api.registry import Service

SERVICE = Service(
    target_prefix="Logs_20140328",
    model="logs",
    signing_name="logs",
    validation_error="InvalidParameterException",
    operations={
        "CreateLogGroup": groups.create_log_group,
        "DeleteLogGroup": groups.delete_log_group,
        "PutRetentionPolicy": groups.put_retention_policy,
        "DeleteRetentionPolicy": groups.delete_retention_policy,
        "DescribeLogGroups": operations.describe_log_groups,
        "DescribeLogStreams": operations.describe_log_streams,
        "GetLogEvents": operations.get_log_events,
        "FilterLogEvents": operations.filter_log_events,
    },
)
