"""ECSService reconciler: the rendered workload plus ECS's deployment bookkeeping."""
