"""Amazon ECS (`AmazonEC2ContainerServiceV20141113.*`) on the ecsk custom resources."""

from __future__ import annotations

from ecsk.api.ecs import attributes, capacity, clusters, instances, services, tags, taskdefs, tasks
from ecsk.api.registry import Service

SERVICE = Service(
    target_prefix="AmazonEC2ContainerServiceV20141113",
    model="ecs",
    signing_name="ecs",
    validation_error="InvalidParameterException",
    operations={
        "ListClusters": clusters.list_clusters,
        "DescribeClusters": clusters.describe_clusters,
        "CreateCluster": clusters.create_cluster,
        "DeleteCluster": clusters.delete_cluster,
        "PutClusterCapacityProviders": clusters.put_cluster_capacity_providers,
        "RegisterTaskDefinition": taskdefs.register_task_definition,
        "DescribeTaskDefinition": taskdefs.describe_task_definition,
        "ListTaskDefinitions": taskdefs.list_task_definitions,
        "ListTaskDefinitionFamilies": taskdefs.list_task_definition_families,
        "DeregisterTaskDefinition": taskdefs.deregister_task_definition,
        "DeleteTaskDefinitions": taskdefs.delete_task_definitions,
        "CreateService": services.create_service,
        "DescribeServices": services.describe_services,
        "ListServices": services.list_services,
        "UpdateService": services.update_service,
        "DeleteService": services.delete_service,
        "RunTask": tasks.run_task,
        "DescribeTasks": tasks.describe_tasks,
        "ListTasks": tasks.list_tasks,
        "StopTask": tasks.stop_task,
        "TagResource": tags.tag_resource,
        "UntagResource": tags.untag_resource,
        "ListTagsForResource": tags.list_tags_for_resource,
        "PutAttributes": attributes.put_attributes,
        "DeleteAttributes": attributes.delete_attributes,
        "ListAttributes": attributes.list_attributes_op,
        "CreateCapacityProvider": capacity.create_capacity_provider,
        "DescribeCapacityProviders": capacity.describe_capacity_providers,
        "DeleteCapacityProvider": capacity.delete_capacity_provider,
        "ListContainerInstances": instances.list_container_instances,
        "DescribeContainerInstances": instances.describe_container_instances,
        "UpdateContainerInstancesState": instances.update_container_instances_state,
    },
)
