"""App Runner services: the AppRunnerService reconciler."""
