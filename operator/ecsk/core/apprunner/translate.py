"""An App Runner service as Kubernetes objects: Deployment, Service, Ingress, HPA.

What maps to what (docs/apprunner.md has the table):
- an instance is a pod; InstanceConfiguration Cpu/Memory are its requests and limits;
- ImageConfiguration: Port is the container port, RuntimeEnvironmentVariables the env,
  RuntimeEnvironmentSecrets `secretKeyRef`s to the Secrets the AWS endpoint stores SSM
  parameters and Secrets Manager secrets in (the mechanism task definitions use), StartCommand
  the container's args (it replaces the image's CMD, split as a shell would);
- HealthCheckConfiguration: the readiness probe (TCP or HTTP GET, Interval, Timeout,
  HealthyThreshold, UnhealthyThreshold) and a liveness probe with the same check;
- the service's URL: a Service (NodePort when the operator publishes load balancers on node
  ports, as on kind) and an Ingress for the host `<id>.<region>.awsapprunner.com`;
- the auto scaling configuration (resolved by the controller: the revision the ARN names, the
  inline block, or the default): an HPA between MinSize and MaxSize on the external metric of
  concurrent requests with an AverageValue target of MaxConcurrency;
- pause: replicas 0 and no HPA (an HPA cannot scale to 0).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from ecsk.core.apprunner.models import DEFAULT_HEALTHY_THRESHOLD as HEALTHY
from ecsk.core.apprunner.models import DEFAULT_INTERVAL as INTERVAL
from ecsk.core.apprunner.models import DEFAULT_PATH as PATH
from ecsk.core.apprunner.models import DEFAULT_TIMEOUT as TIMEOUT
from ecsk.core.apprunner.models import DEFAULT_UNHEALTHY_THRESHOLD as UNHEALTHY
from ecsk.core.apprunner.models import AppRunnerService
from ecsk.core.apprunner.rules import cpu_memory
from ecsk.core.apprunner.scaling import DEFAULT_SCALING, Scaling
from ecsk.core.autoscaling.external import APPRUNNER_METRIC, LABEL_APPRUNNER_SERVICE
from ecsk.core.translate.names import GROUP, MANAGED_BY, dns_label, label_value
from ecsk.core.translate.secrets import stored_ref

Json = dict[str, Any]
CONTAINER = "app"
SERVICE_PORT = 80
ANN_DIGEST = f"{GROUP}/image-digest"
"""Pod template annotation: the digest the followed tag pointed at when this deployment started
(AutoDeploymentsEnabled: a new digest changes the template, so Kubernetes rolls out)."""
ANN_TOKEN = f"{GROUP}/deployment-token"
"""Pod template annotation: StartDeployment's token (a new one redeploys the same image)."""
SCALE_DOWN_WINDOW = 60
"""Seconds of lower concurrency before instances are removed (the HPA's default is 300)."""


@dataclass(frozen=True)
class Rollout:
    """What the controller decided beyond the spec: instance count, pause, what to deploy."""

    replicas: int
    paused: bool = False
    digest: str | None = None
    token: str | None = None
    node_port: bool = False
    host: str = ""
    scaling: Scaling = DEFAULT_SCALING
    """(MaxConcurrency, MinSize, MaxSize) of the configuration in use."""


def object_name(spec: AppRunnerService) -> str:
    return dns_label(spec.ServiceName)


def labels(spec: AppRunnerService) -> dict[str, str]:
    return {MANAGED_BY: "ecsk", LABEL_APPRUNNER_SERVICE: label_value(spec.ServiceName)}


def resources(spec: AppRunnerService) -> Json:
    pair = cpu_memory(spec)
    if pair is None:
        return {}
    cpu, memory = pair
    amounts = {"cpu": f"{cpu * 1000 // 1024}m", "memory": f"{memory}Mi"}
    return {"requests": dict(amounts), "limits": dict(amounts)}


def probes(spec: AppRunnerService) -> tuple[Json, Json]:
    """(readiness, liveness) from HealthCheckConfiguration with App Runner's defaults."""
    hc = spec.health
    check: Json = (
        {"httpGet": {"path": hc.Path or PATH, "port": spec.port}}
        if hc.Protocol == "HTTP"
        else {"tcpSocket": {"port": spec.port}}
    )
    timing = {"periodSeconds": hc.Interval or INTERVAL, "timeoutSeconds": hc.Timeout or TIMEOUT}
    failures = hc.UnhealthyThreshold or UNHEALTHY
    readiness = {
        **check,
        **timing,
        "successThreshold": hc.HealthyThreshold or HEALTHY,
        "failureThreshold": failures,
    }
    liveness = {**check, **timing, "successThreshold": 1, "failureThreshold": failures}
    return readiness, liveness


def env(spec: AppRunnerService) -> list[Json]:
    cfg = spec.image_config
    out: list[Json] = [
        {"name": k, "value": v} for k, v in sorted((cfg.RuntimeEnvironmentVariables or {}).items())
    ]
    for name, arn in sorted((cfg.RuntimeEnvironmentSecrets or {}).items()):
        secret, key = stored_ref(arn)
        out.append({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    return out


def container(spec: AppRunnerService) -> Json:
    readiness, liveness = probes(spec)
    follows_tag = bool(spec.SourceConfiguration.AutoDeploymentsEnabled)
    out: Json = {
        "name": CONTAINER,
        "image": spec.image.ImageIdentifier,
        "imagePullPolicy": "Always" if follows_tag else "IfNotPresent",
        "ports": [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}],
        "env": env(spec),
        "resources": resources(spec),
        "readinessProbe": readiness,
        "livenessProbe": liveness,
    }
    if spec.image_config.StartCommand:
        out["args"] = shlex.split(spec.image_config.StartCommand)
    return out


def _meta(
    name: str, namespace: str, spec: AppRunnerService, annotations: dict[str, str] | None = None
) -> Json:
    meta: Json = {"name": name, "namespace": namespace, "labels": labels(spec)}
    if annotations:
        meta["annotations"] = annotations
    return meta


def deployment(spec: AppRunnerService, namespace: str, rollout: Rollout) -> Json:
    name = object_name(spec)
    pod_annotations = {k: v for k, v in ((ANN_DIGEST, rollout.digest), (ANN_TOKEN, rollout.token)) if v}
    template_meta: Json = {"labels": labels(spec)}
    if pod_annotations:
        template_meta["annotations"] = pod_annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, namespace, spec),
        "spec": {
            "replicas": 0 if rollout.paused else rollout.replicas,
            "selector": {"matchLabels": {LABEL_APPRUNNER_SERVICE: label_value(spec.ServiceName)}},
            # App Runner starts the new instances, shifts traffic once they are healthy, then
            # stops the old ones: a surge rollout that never lowers the healthy count.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "100%", "maxUnavailable": 0}},
            "template": {
                "metadata": template_meta,
                "spec": {"containers": [container(spec)], "automountServiceAccountToken": False},
            },
        },
    }


def service(spec: AppRunnerService, namespace: str, rollout: Rollout) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(object_name(spec), namespace, spec),
        "spec": {
            "type": "NodePort" if rollout.node_port else "ClusterIP",
            "selector": {LABEL_APPRUNNER_SERVICE: label_value(spec.ServiceName)},
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": spec.port, "protocol": "TCP"}],
        },
    }


def ingress(spec: AppRunnerService, namespace: str, rollout: Rollout) -> Json:
    name = object_name(spec)
    backend = {"service": {"name": name, "port": {"number": SERVICE_PORT}}}
    path = {"path": "/", "pathType": "Prefix", "backend": backend}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(name, namespace, spec),
        "spec": {"rules": [{"host": rollout.host, "http": {"paths": [path]}}]},
    }


def hpa(spec: AppRunnerService, namespace: str, scaling: Scaling) -> Json:
    max_concurrency, lo, hi = scaling
    name = object_name(spec)
    metric = {
        "name": APPRUNNER_METRIC,
        "selector": {"matchLabels": {LABEL_APPRUNNER_SERVICE: label_value(spec.ServiceName)}},
    }
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(name, namespace, spec),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": lo,
            "maxReplicas": hi,
            "metrics": [
                {
                    "type": "External",
                    "external": {
                        "metric": metric,
                        "target": {"type": "AverageValue", "averageValue": str(max_concurrency)},
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": SCALE_DOWN_WINDOW}},
        },
    }


def render(spec: AppRunnerService, namespace: str, rollout: Rollout) -> list[Json]:
    """Every object of the service (the HPA only while it runs: a paused service has none)."""
    out = [
        deployment(spec, namespace, rollout),
        service(spec, namespace, rollout),
        ingress(spec, namespace, rollout),
    ]
    if not rollout.paused:
        out.append(hpa(spec, namespace, rollout.scaling))
    return out


def replicas(scaling: Scaling, current: int | None) -> int:
    """The instance count to apply: the HPA's current count kept inside [MinSize, MaxSize]
    (so our apply never undoes a scaling decision), MinSize for a new or resumed service."""
    _, lo, hi = scaling
    if not current:
        return lo
    return max(lo, min(hi, current))
