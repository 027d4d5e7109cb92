"""ecsk: Amazon ECS, emulated on real Kubernetes."""

__version__ = "0.1.0"
