# The operator image for kind/EKS. Runs as a non-root user with a read-only root filesystem,
# so the Deployment in manifests/ passes the restricted Pod Security Standard.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
COPY --from=build /install /usr/local
USER 10001:10001
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
EXPOSE 8080 4599
ENTRYPOINT ["ecsk", "operator", "--liveness", "http://0.0.0.0:8080/healthz"]
