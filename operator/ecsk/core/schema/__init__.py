"""The Kubernetes face of every model: CustomResourceDefinitions generated from the pydantic models."""
