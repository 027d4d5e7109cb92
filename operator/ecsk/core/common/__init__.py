"""Shared by several concepts: Kubernetes quantities, schedule expressions (scheduled tasks and
scheduled scaling)."""
