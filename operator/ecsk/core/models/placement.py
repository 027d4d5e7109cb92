"""Placement and capacity shapes shared by services, RunTask and scheduled tasks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ecsk.core.models.common import AwsModel, EnabledDisabled


class TaskDefinitionPlacementConstraint(AwsModel):
    """Task definitions only allow memberOf; the type is still free text so the rule can say so."""

    type: str | None = Field(default=None, json_schema_extra={"enum": ["memberOf"]})
    expression: str | None = None


class PlacementConstraint(AwsModel):
    type: str | None = Field(default=None, json_schema_extra={"enum": ["distinctInstance", "memberOf"]})
    expression: str | None = None


class PlacementStrategy(AwsModel):
    type: str | None = Field(default=None, json_schema_extra={"enum": ["random", "spread", "binpack"]})
    field: str | None = None


class CapacityProviderStrategyItem(AwsModel):
    capacityProvider: str
    weight: int | None = Field(default=None, json_schema_extra={"minimum": 0, "maximum": 1000})
    base: int | None = Field(default=None, json_schema_extra={"minimum": 0, "maximum": 100000})


class AwsVpcConfiguration(AwsModel):
    subnets: list[str] = Field(json_schema_extra={"maxItems": 16})
    securityGroups: list[str] | None = Field(default=None, json_schema_extra={"maxItems": 5})
    assignPublicIp: EnabledDisabled | None = None


class NetworkConfiguration(AwsModel):
    awsvpcConfiguration: AwsVpcConfiguration | None = None


PlacementConstraintType = Literal["distinctInstance", "memberOf"]
PlacementStrategyType = Literal["random", "spread", "binpack"]
