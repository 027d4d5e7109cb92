"""Capacity: capacity-provider and Fargate controllers and the reads they share."""
