"""What CQL can see of one container instance, in ECS terms.

The evaluator reads this directly (it is the ground truth for what an expression means); the
compiler reads a list of them as the live inventory when a regex has to be resolved; and
`labels.node_labels` derives from it the node labels the operator must keep on the Node, which is
the contract that makes compiled terms select the same nodes as the evaluator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class NodeView:
    """One container instance.

    `ec2_instance_id` is also the Kubernetes Node name: ecsk names every fleet node after its EC2
    instance id, which is what lets `ec2InstanceId` compile to `matchFields: metadata.name`.
    `attributes` holds every ECS attribute, built-in (`ecs.availability-zone`, ...) and custom; a
    value of None or "" is an attribute without a value (ECS allows those).
    `task_groups` are the groups of the tasks currently on the instance (for `task:group`).
    """

    ec2_instance_id: str
    attributes: Mapping[str, str | None] = field(default_factory=dict)
    registered_at: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    running_tasks_count: int = 0
    agent_connected: bool = True
    agent_version: str = "1.0.0"
    task_groups: frozenset[str] = frozenset()
