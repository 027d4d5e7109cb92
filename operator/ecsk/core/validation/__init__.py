"""ECS validation rules (pure): every rule reports, none raises, so users see all problems at once.

Paths use the AWS field names (`containerDefinitions[1].healthCheck.interval`); messages use
ECS's own ClientException wording where ECS has one.
"""

from ecsk.core.models.errors import ModelLoadError, ValidationIssue
from ecsk.core.validation.document import validate_document, validate_documents
from ecsk.core.validation.fargate import (
    FARGATE_CPU_MEMORY,
    INVALID_CPU,
    fargate_memory_options,
    fargate_size_for,
)
from ecsk.core.validation.service import validate_service
from ecsk.core.validation.task import validate_run_task, validate_scheduled_task
from ecsk.core.validation.taskdef import validate_task_definition

__all__ = [
    "FARGATE_CPU_MEMORY",
    "INVALID_CPU",
    "ModelLoadError",
    "ValidationIssue",
    "fargate_memory_options",
    "fargate_size_for",
    "validate_document",
    "validate_documents",
    "validate_run_task",
    "validate_scheduled_task",
    "validate_service",
    "validate_task_definition",
]
