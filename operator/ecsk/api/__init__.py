"""The AWS API endpoint: the aws CLI, boto3 and every SDK speak to ecsk over AWS JSON 1.1.

One HTTP endpoint serves several AWS services, told apart by the `X-Amz-Target` prefix (see
`ecsk.api.registry`); each service is its own module or subpackage (`ecsk.api.ecs`,
`ecsk.api.autoscaling`; later `ecr`, `ssm`, `secretsmanager`, `logs`). The custom resources are
the only store: every call reads and writes them through the Kubernetes API (`ecsk.api.store`).
Design notes: docs/api.md.
"""
