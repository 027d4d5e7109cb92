"""ECS tasks: lifecycle state derived from a pod (pure)."""
