"""ECS services: deployments (rollout state, circuit breaker) and the service event messages (pure)."""
