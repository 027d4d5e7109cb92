"""External metrics for target tracking on ALB request counts and customized (CloudWatch) metrics.

Why an external metrics API: the HPA reads anything that is not a pod's CPU or memory from
`external.metrics.k8s.io` (or `custom.metrics.k8s.io`), and ecsk has no CloudWatch and no ALB.
The lab sets the numbers with `ecsk load` as annotations on the ECSService; ecsk's metrics
adapter (`ecsk metrics-adapter`) serves them to the HPA. This module is the pure half: which
metric and selector a policy's HPA entry uses, which items a service publishes, and the JSON
shapes of the API (the adapter does the HTTP and the listing).

The two metric kinds and why their HPA targets differ:
- ALBRequestCountPerTarget is CloudWatch's RequestCountPerTarget: the target group's requests
  per minute divided by its healthy targets. We publish the target group's *total* (metric
  `alb-request-count`) and give the HPA an `AverageValue` target of TargetValue: the HPA divides
  the total by the replicas, and its desired count is ceil(total / TargetValue), which is ECS's
  ceil(capacity * perTarget / TargetValue). ResourceLabel names the target group; the selector
  matches the services whose `loadBalancers[].targetGroupArn` is that target group.
- A customized metric is an arbitrary value the service's capacity is meant to move (ECS asks
  for one that changes in inverse proportion to capacity). The HPA gets a `Value` target of
  TargetValue: desired = ceil(ready tasks * value / TargetValue), ECS's target tracking formula.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecsk.core.autoscaling.models import CustomizedMetricSpecification, MetricDimension, ScalingPolicy
from ecsk.core.translate.names import LABEL_CLUSTER, LABEL_SERVICE, label_value

GROUP = "external.metrics.k8s.io"
VERSION = "v1beta1"
GROUP_VERSION = f"{GROUP}/{VERSION}"
APISERVICE_NAME = f"{VERSION}.{GROUP}"

ALB_METRIC = "alb-request-count"
"""External metric: requests per minute to one target group (CloudWatch RequestCount, Sum)."""
REQUESTS_ANNOTATION = "ecs.ecsk.io/requests-per-minute"
"""On an ECSService: requests per minute its target groups receive in total (`ecsk load --requests`)."""
METRICS_ANNOTATION = "ecs.ecsk.io/metrics"
"""On an ECSService: JSON object `{"Namespace/MetricName": value}` (`ecsk load --metric`)."""
APPRUNNER_METRIC = "apprunner-concurrent-requests"
"""External metric: concurrent requests an App Runner service receives in total."""
CONCURRENCY_ANNOTATION = "ecs.ecsk.io/concurrent-requests"
"""On an AppRunnerService: its simulated concurrent requests (`ecsk load --apprunner-service`)."""
LABEL_APPRUNNER_SERVICE = "ecs.ecsk.io/apprunner-service"
"""On an App Runner service's objects and pods: its ServiceName (as a label value)."""
LABEL_TARGET_GROUP = "ecs.ecsk.io/target-group"
LABEL_TARGET_GROUP_ID = "ecs.ecsk.io/target-group-id"

_RESOURCE_LABEL = re.compile(r"^app/([^/]+)/([^/]+)/targetgroup/([^/]+)/([^/]+)$")
_TARGET_GROUP_ARN = re.compile(r"^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:targetgroup/([^/]+)/([^/]+)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def quantity(value: float) -> str:
    """A Kubernetes quantity with milli precision (the HPA compares milli-values)."""
    milli = round(value * 1000)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


# --- what the HPA asks for -------------------------------------------------------------------


def alb_selector(resource_label: str) -> dict[str, str] | None:
    """The target group named by a ResourceLabel (`app/<lb>/<id>/targetgroup/<tg>/<id>`) as
    matchLabels, or None when the label is not in that form."""
    m = _RESOURCE_LABEL.match(resource_label)
    if not m:
        return None
    return {LABEL_TARGET_GROUP: label_value(m.group(3)), LABEL_TARGET_GROUP_ID: label_value(m.group(4))}


def customized_metric_name(namespace: str, metric_name: str) -> str:
    """`Namespace/MetricName` as an external metric name: the HPA wants a valid path segment
    (no `/`), so anything outside [A-Za-z0-9._-] becomes `-`, and lower case, because the HPA
    controller's client asks for metric names in lower case (`MyApp/Queue Depth` ->
    `myapp-queue-depth`)."""
    return _UNSAFE.sub("-", f"{namespace}/{metric_name}").strip("-").lower() or "metric"


@dataclass(frozen=True)
class CustomizedMetric:
    """A customized metric resolved to the external metric the HPA reads."""

    name: str
    selector: dict[str, str]


def customized_metric(
    spec: CustomizedMetricSpecification, cluster: str, service: str
) -> CustomizedMetric | str:
    """The external metric of a CustomizedMetricSpecification, or why it is not emulated.

    Values are published per ECS service, so the dimensions ServiceName/ClusterName pick the
    service whose value counts (default: the scaled service); other dimensions, Statistic and
    Unit do not narrow anything (the lab sets the statistic's value directly). Metric math
    (`Metrics`) is emulated when it is a single MetricStat query, the common form.
    """
    namespace, metric_name, dimensions = spec.Namespace, spec.MetricName, spec.Dimensions
    if spec.Metrics:
        returned = [q for q in spec.Metrics if q.get("ReturnData", True)]
        stat = returned[0].get("MetricStat") if len(returned) == 1 else None
        metric = (stat or {}).get("Metric") or {}
        if not metric.get("MetricName") or returned[0].get("Expression"):
            return "metric math expressions are not emulated (use one MetricStat query)"
        namespace, metric_name = metric.get("Namespace"), metric["MetricName"]
        dimensions = [MetricDimension.model_validate(d) for d in metric.get("Dimensions") or []]
    if not metric_name or not namespace:
        return "CustomizedMetricSpecification needs MetricName and Namespace"
    dims = {d.Name: d.Value for d in dimensions or ()}
    return CustomizedMetric(
        name=customized_metric_name(namespace, metric_name),
        selector={
            LABEL_CLUSTER: label_value(dims.get("ClusterName", cluster)),
            LABEL_SERVICE: label_value(dims.get("ServiceName", service)),
        },
    )


# --- what a service publishes ----------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    metric: str
    labels: dict[str, str]
    value: float
    window: int | None = None


def target_groups(svc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, id) of each target group the service registers its tasks with."""
    out = []
    for lb in (svc.get("spec") or {}).get("loadBalancers") or []:
        m = _TARGET_GROUP_ARN.match(str((lb or {}).get("targetGroupArn") or ""))
        if m and (m.group(1), m.group(2)) not in out:
            out.append((m.group(1), m.group(2)))
    return out


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def apprunner_items(svc: Mapping[str, Any]) -> list[Item]:
    """An AppRunnerService publishes its concurrent requests (0 when no load is set: an idle
    service, which App Runner scales in to MinSize). The HPA's AverageValue target of
    MaxConcurrency divides the total by the instances: desired = ceil(total / MaxConcurrency),
    App Runner's "add an instance when concurrency per instance exceeds MaxConcurrency"."""
    meta = svc.get("metadata") or {}
    name = str((svc.get("spec") or {}).get("ServiceName") or meta.get("name") or "")
    value = _number((meta.get("annotations") or {}).get(CONCURRENCY_ANNOTATION)) or 0.0
    return [Item(APPRUNNER_METRIC, {LABEL_APPRUNNER_SERVICE: label_value(name)}, max(0.0, value))]


def service_items(svc: Mapping[str, Any]) -> list[Item]:
    """The external metric values one ECSService publishes.

    A target group of the service with no load set receives 0 requests (an idle service, which
    target tracking scales in to its minimum). An unset customized metric publishes nothing:
    missing data, on which neither ECS nor the HPA acts. Malformed values count as unset.
    """
    if svc.get("kind") == "AppRunnerService":
        return apprunner_items(svc)
    meta = svc.get("metadata") or {}
    spec = svc.get("spec") or {}
    annotations = meta.get("annotations") or {}
    base = {
        LABEL_CLUSTER: label_value(str(spec.get("cluster") or "default").rsplit("/", 1)[-1]),
        LABEL_SERVICE: label_value(str(spec.get("serviceName") or meta.get("name") or "")),
    }
    items: list[Item] = []
    requests = _number(annotations.get(REQUESTS_ANNOTATION)) or 0.0
    for name, tg_id in target_groups(svc):
        labels = {**base, LABEL_TARGET_GROUP: label_value(name), LABEL_TARGET_GROUP_ID: label_value(tg_id)}
        items.append(Item(ALB_METRIC, labels, max(0.0, requests), window=60))
    try:
        custom = json.loads(annotations.get(METRICS_ANNOTATION) or "{}")
    except ValueError:
        custom = {}
    for key, raw in sorted(custom.items() if isinstance(custom, dict) else ()):
        value = _number(raw)
        namespace, _, metric_name = str(key).rpartition("/")
        if value is None or not namespace or not metric_name:
            continue
        items.append(Item(customized_metric_name(namespace, metric_name), dict(base), value))
    return items


def unreached_target_groups(policies: Sequence[ScalingPolicy], svc: Mapping[str, Any]) -> dict[str, str]:
    """ALB policies whose target group the service does not register with, by policy name.

    Why tell: no requests reach such a target group, so the HPA finds no metric and the policy
    silently does nothing (in AWS the metric would have no data either); a lab most likely
    forgot `loadBalancers` on the service or mistyped the ResourceLabel.
    """
    attached = {(label_value(n), label_value(i)) for n, i in target_groups(svc)}
    out = {}
    for policy in policies:
        cfg = policy.TargetTrackingScalingPolicyConfiguration
        spec = cfg.PredefinedMetricSpecification if cfg else None
        if spec is None or spec.PredefinedMetricType != "ALBRequestCountPerTarget":
            continue
        selector = alb_selector(spec.ResourceLabel or "")
        if selector and (selector[LABEL_TARGET_GROUP], selector[LABEL_TARGET_GROUP_ID]) not in attached:
            out[policy.PolicyName] = (
                f"target group {selector[LABEL_TARGET_GROUP]}/{selector[LABEL_TARGET_GROUP_ID]} is not in "
                "the service's loadBalancers[].targetGroupArn: it receives no requests"
            )
    return out


# --- the API ---------------------------------------------------------------------------------


class SelectorError(ValueError):
    """A labelSelector this adapter cannot evaluate."""


Requirement = tuple[str, str, str | None]


def parse_selector(text: str | None) -> list[Requirement]:
    """Equality-based selectors (`k=v`, `k==v`, `k!=v`, `k`, `!k`): what an HPA's matchLabels
    becomes on the wire. Set-based ones (`in`, `notin`) are refused rather than misread."""
    out: list[Requirement] = []
    for raw in (text or "").split(","):
        part = raw.strip()
        if not part:
            continue
        if " in " in part or " notin " in part or "(" in part:
            raise SelectorError(f"set-based selector {part!r} is not supported")
        if "!=" in part:
            key, value = part.split("!=", 1)
            out.append((key.strip(), "!=", value.strip()))
        elif "=" in part:
            key, value = part.split("==", 1) if "==" in part else part.split("=", 1)
            out.append((key.strip(), "=", value.strip()))
        elif part.startswith("!"):
            out.append((part[1:].strip(), "!", None))
        else:
            out.append((part, "exists", None))
    return out


def matches(labels: Mapping[str, str], requirements: Iterable[Requirement]) -> bool:
    for key, op, value in requirements:
        have = labels.get(key)
        if (
            (op == "=" and have != value)
            or (op == "!=" and have == value)
            or (op == "exists" and have is None)
            or (op == "!" and have is not None)
        ):
            return False
    return True


def value_list(
    services: Iterable[Mapping[str, Any]], metric: str, selector: str | None, now: datetime
) -> dict[str, Any]:
    """ExternalMetricValueList for one metric in one namespace, filtered by the selector."""
    requirements = parse_selector(selector)
    metric = metric.lower()  # what the HPA asks for; our names are lower case already
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    items = []
    for svc in services:
        for item in service_items(svc):
            if item.metric != metric or not matches(item.labels, requirements):
                continue
            entry: dict[str, Any] = {
                "metricName": metric,
                "metricLabels": item.labels,
                "timestamp": stamp,
                "value": quantity(item.value),
            }
            if item.window is not None:
                entry["window"] = item.window
            items.append(entry)
    return {"kind": "ExternalMetricValueList", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}


def resource_list() -> dict[str, Any]:
    """Discovery of the group/version: external metrics are one wildcard, namespaced resource
    (as every external metrics adapter publishes it); the real names are only known per query."""
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": GROUP_VERSION,
        "resources": [
            {
                "name": "externalmetrics",
                "singularName": "",
                "namespaced": True,
                "kind": "ExternalMetricValueList",
                "verbs": ["get"],
            }
        ],
    }


def api_group() -> dict[str, Any]:
    version = {"groupVersion": GROUP_VERSION, "version": VERSION}
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": GROUP,
        "versions": [version],
        "preferredVersion": version,
    }


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    """A metav1.Status, which clients (and the aggregator's proxy) show as the error."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
