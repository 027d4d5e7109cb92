"""Amazon ECR, pure: repository names and URIs, the Repository spec, lifecycle policies (their
validation in ECR's wording and the documented evaluation algorithm). The registry itself and the
API live in `ecsk.cluster.registry` and `ecsk.api.ecr`."""
