"""The pure core: ECS models, validation, translation to Kubernetes objects, the Cluster Query
Language. Nothing in here may import kopf or a Kubernetes client (import-linter enforces it), so
the operator and the offline CLI share exactly the same logic and it is unit-tested on plain data.
"""
