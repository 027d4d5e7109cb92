"""Capacity: capacity providers and their strategies, emulated Auto Scaling groups and managed
scaling, EKS node fleets, Fargate and EKS Fargate profiles (pure)."""
