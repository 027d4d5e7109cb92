"""Where a Copilot application, environment and workload live on the cluster, and their labels.

An environment is a namespace (`<app>-<env>`, or a prefix + that when the caller asks: tests
run side by side) holding one ECSCluster named `<app>-<env>` (Copilot's cluster is named
`<app>-<env>-Cluster-<id>`). Every object Copilot commands create carries the application,
environment and (for workloads) service labels, so deleting removes those objects and nothing
else. The AWS-side names follow Copilot's: task definition family `<app>-<env>-<svc>`, log group
`/copilot/<app>-<env>-<svc>`, tags `copilot-application` / `copilot-environment` /
`copilot-service`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ecsk.core.ecr.names import repository_uri
from ecsk.core.taskdefs.revisions import DEFAULT_ACCOUNT, DEFAULT_REGION

GROUP = "ecs.ecsk.io"
LABEL_APP = f"{GROUP}/copilot-application"
LABEL_ENV = f"{GROUP}/copilot-environment"
LABEL_SVC = f"{GROUP}/copilot-service"
LABEL_ROLE = f"{GROUP}/copilot-role"
"""`environment` on an environment's record; workloads' objects have no role label."""
MANAGED_BY = ("app.kubernetes.io/managed-by", "ecsk-copilot")
NAMESPACE_LABEL_CREATED = f"{GROUP}/copilot-created-namespace"
"""On an environment record: "true" when `env init` created the namespace (and so `env delete`
deletes it), "false" when it was given and existed already."""
MAX_NAMESPACE = 63


def _hex(*parts: str, n: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:n]


def namespace(app: str, env: str, prefix: str = "") -> str:
    """The environment's namespace: `<prefix><app>-<env>` (a DNS label; names are checked)."""
    name = f"{prefix}{app}-{env}"
    if len(name) > MAX_NAMESPACE:
        raise ValueError(f"namespace {name!r} is longer than {MAX_NAMESPACE} characters: use shorter names")
    return name


def cluster(app: str, env: str) -> str:
    return f"{app}-{env}"


def family(app: str, env: str, svc: str) -> str:
    return f"{app}-{env}-{svc}"


def log_group(app: str, env: str, svc: str) -> str:
    return f"/copilot/{app}-{env}-{svc}"


def env_record(env: str) -> str:
    """The ConfigMap recording an environment in its namespace."""
    return f"copilot-env-{env}"


def labels(app: str, env: str | None = None, svc: str | None = None) -> dict[str, str]:
    out = {LABEL_APP: app, MANAGED_BY[0]: MANAGED_BY[1]}
    if env:
        out[LABEL_ENV] = env
    if svc:
        out[LABEL_SVC] = svc
    return out


def selector(app: str, env: str | None = None, svc: str | None = None) -> str:
    """The label selector of exactly those objects."""
    return ",".join(f"{k}={v}" for k, v in labels(app, env, svc).items() if k != MANAGED_BY[0])


def tags(app: str, env: str, svc: str | None = None) -> list[tuple[str, str]]:
    out = [("copilot-application", app), ("copilot-environment", env)]
    if svc:
        out.append(("copilot-service", svc))
    return out


@dataclass(frozen=True)
class Environment:
    """One deployment target: the application, the environment, and where they live."""

    app: str
    env: str
    namespace: str
    account: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    launch_type: str = "FARGATE"
    """Copilot runs every task on Fargate. `EC2` is ecsk's option for kind, whose real workers
    are EC2-like nodes (its Fargate nodes are simulated, so their tasks run no containers)."""

    @property
    def cluster(self) -> str:
        return cluster(self.app, self.env)

    @property
    def discovery_namespace(self) -> str:
        """Copilot's Cloud Map namespace (COPILOT_SERVICE_DISCOVERY_ENDPOINT)."""
        return f"{self.env}.{self.app}.local"

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"

    def subnets(self, placement: str) -> list[str]:
        """The environment's two public or two private subnets (Copilot's default VPC has two
        of each); ids are stable per environment."""
        return [f"subnet-{_hex(self.app, self.env, placement, str(i))}" for i in range(2)]

    @property
    def security_group(self) -> str:
        """The environment security group every Copilot task joins (members reach each other)."""
        return f"sg-{_hex(self.app, self.env, 'env-sg')}"

    def target_group_arn(self, svc: str) -> str:
        """The service's ALB target group. The name avoids the letters `nlb` (ecsk reads such a
        target group as an NLB's)."""
        name = f"copilot-{_hex(self.app, self.env, svc, n=8)}"
        return self.arn(
            "elasticloadbalancing", f"targetgroup/{name}/{_hex(self.app, self.env, svc, 'tg', n=16)}"
        )

    def load_balancer_name(self, internal: bool) -> str:
        """The environment's (public or internal) ALB, as a CloudWatch dimension value."""
        which = "internal" if internal else "public"
        return f"app/{self.app}-{self.env}-{which}/{_hex(self.app, self.env, which, n=16)}"

    def repository(self, svc: str) -> str:
        """The ECR repository Copilot creates for a workload it builds: `<app>/<svc>`."""
        return f"{self.app}/{svc}"

    def repository_uri(self, svc: str) -> str:
        return repository_uri(self.account, self.region, self.repository(svc))

    def registry_arn(self, svc: str) -> str:
        return self.arn("servicediscovery", f"service/srv-{_hex(self.app, self.env, svc, 'sd', n=16)}")

    def role_arn(self, svc: str, role: str) -> str:
        return self.arn("iam", f"role/{family(self.app, self.env, svc)}-{role}", region=False)
