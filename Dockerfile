# The operator image for kind/EKS. Runs as a non-root user with a read-only root filesystem,
# so the Deployment in manifests/ passes the restricted Pod Security Standard.
# PYTHON_IMAGE: any image with Python 3.11 and pip at /usr/local (python:3.11-slim where images
# can be pulled; `ecsk kind up` passes a base built from Debian's python3 where they cannot).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip install --no-cache-dir --prefix=/install .

FROM ${PYTHON_IMAGE}
COPY --from=build /install /usr/local
# kopf names the operator's peering identity after getpass.getuser(): the uid needs a passwd entry.
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin ecsk
USER 10001:10001
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
EXPOSE 8080 4599
ENTRYPOINT ["ecsk", "operator", "--liveness", "http://0.0.0.0:8080/healthz"]
