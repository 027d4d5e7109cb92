"""The single source of truth: every ECS model field -> its Kubernetes target, or why there is none.

docs/field-coverage.md is generated from this table (`python -m ecsk.core.translate.coverage`), and
unit tests fail when the document is stale or a model field has no entry, so a new ECS field can
never be dropped silently. An entry with `subtree=True` accounts for every field below it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Literal

Status = Literal["mapped", "partial", "annotation", "operator", "unsupported", "read-only", "hook"]


@dataclass(frozen=True, slots=True)
class Coverage:
    targets: tuple[str, ...] | None
    note: str
    status: Status
    subtree: bool = False


COVERAGE: dict[str, Coverage] = {}

TD = "TaskDefinition"
CD = f"{TD}.containerDefinitions[]"
SVC = "ECSService"
POD = "spec"
C = f"{POD}.containers[]"


def _e(
    path: str,
    targets: str | tuple[str, ...] | None,
    note: str,
    status: Status = "mapped",
    subtree: bool = False,
) -> None:
    t = (targets,) if isinstance(targets, str) else targets
    COVERAGE[path] = Coverage(t, note, status, subtree)


# --- task definition -------------------------------------------------------------------------
_e(
    f"{TD}.family",
    ("metadata.labels['ecs.ecsk.io/family']", "metadata.name"),
    "label value (sanitised) and base of the PodTemplate name `<family>-<revision>`",
)
_e(
    f"{TD}.taskRoleArn",
    (f"{POD}.serviceAccountName", "ServiceAccount"),
    "one ServiceAccount per role, `iam-<role name>`, annotated eks.amazonaws.com/role-arn (IRSA)",
)
_e(
    f"{TD}.executionRoleArn",
    "metadata.annotations['ecs.ecsk.io/execution-role-arn']",
    "no pod field: image pulls use node credentials or imagePullSecrets; kept for the operator",
    "annotation",
)
_e(
    f"{TD}.networkMode",
    (f"{POD}.hostNetwork", "NetworkPolicy"),
    "awsvpc/bridge: pod IP; host: hostNetwork; none: deny-all NetworkPolicy",
    "partial",
)
_e(
    f"{TD}.containerDefinitions[]",
    f"{POD}.containers[] / initContainers[]",
    "app containers, or init/native sidecar containers when others depend on them",
)
_e(
    f"{CD}.name",
    f"{C}.name",
    "DNS-1123 label: lowercase, `_`->`-`; hash suffix only on a clash within the task",
)
_e(f"{CD}.image", f"{C}.image", "kept, optional prefix rewrite (--image-rewrite)")
_e(
    f"{CD}.repositoryCredentials",
    f"{POD}.imagePullSecrets",
    "pull Secret named by the Secrets Manager rule",
    subtree=True,
)
_e(f"{CD}.cpu", f"{C}.resources.requests.cpu", "ceil(units*1000/1024) millicores; a share, so request only")
_e(
    f"{CD}.memory",
    (f"{C}.resources.limits.memory", f"{C}.resources.requests.memory"),
    "hard limit in Mi; also the request when memoryReservation is absent",
)
_e(f"{CD}.memoryReservation", f"{C}.resources.requests.memory", "soft limit = request in Mi")
_e(f"{CD}.links", f"{POD}.hostAliases", "containers share localhost: link names resolve to 127.0.0.1")
_e(f"{CD}.portMappings[]", f"{C}.ports[]", "one port per mapping", subtree=False)
_e(f"{CD}.portMappings[].containerPort", f"{C}.ports[].containerPort", "same")
_e(
    f"{CD}.portMappings[].hostPort",
    f"{C}.ports[].hostPort",
    "bridge static -> hostPort; bridge dynamic (0/omitted) -> none (pod IP); awsvpc/host: = containerPort",
    "partial",
)
_e(f"{CD}.portMappings[].protocol", f"{C}.ports[].protocol", "tcp/udp -> TCP/UDP")
_e(
    f"{CD}.portMappings[].name",
    f"{C}.ports[].name",
    "kept when a valid IANA service name, else dropped",
    "partial",
)
_e(f"{CD}.portMappings[].appProtocol", "Service.spec.ports[].appProtocol", "carried to the Service port")
_e(f"{CD}.portMappings[].containerPortRange", None, "Kubernetes has no port ranges", "unsupported")
_e(
    f"{CD}.essential",
    "metadata.annotations['ecs.ecsk.io/essential-containers']",
    "no Kubernetes field: liveness replaces pods of services; the operator stops standalone tasks",
    "operator",
)
_e(
    f"{CD}.restartPolicy",
    "metadata.annotations['ecs.ecsk.io/restart-policy']",
    "kubelet restart policy is per pod; kept for the operator",
    "annotation",
    subtree=True,
)
_e(f"{CD}.entryPoint", f"{C}.command", "Docker ENTRYPOINT = Kubernetes command")
_e(f"{CD}.command", f"{C}.args", "Docker CMD = Kubernetes args")
_e(f"{CD}.environment[]", f"{C}.env[]", "name/value", subtree=True)
_e(
    f"{CD}.environmentFiles[]",
    f"{C}.envFrom[].configMapRef",
    "ConfigMap `s3.<bucket>.<key parts>`; env overrides envFrom as environment overrides files",
    subtree=True,
)
_e(f"{CD}.mountPoints[]", f"{C}.volumeMounts[]", "sourceVolume/containerPath/readOnly", subtree=True)
_e(
    f"{CD}.volumesFrom[]",
    f"{C}.volumeMounts[]",
    "the source container's mounts copied (readOnly override)",
    subtree=True,
)
_e(f"{CD}.linuxParameters", None, "see sub-fields")
_e(f"{CD}.linuxParameters.capabilities", f"{C}.securityContext.capabilities", "add/drop", subtree=True)
_e(
    f"{CD}.linuxParameters.devices[]",
    "metadata.annotations['ecs.ecsk.io/devices']",
    "host devices need a device plugin or privileged mode",
    "unsupported",
    subtree=True,
)
_e(
    f"{CD}.linuxParameters.initProcessEnabled",
    f"{POD}.shareProcessNamespace",
    "the pause container is PID 1 and reaps zombies",
    "partial",
)
_e(
    f"{CD}.linuxParameters.sharedMemorySize",
    f"{POD}.volumes[].emptyDir",
    "emptyDir medium Memory with sizeLimit at /dev/shm",
)
_e(
    f"{CD}.linuxParameters.tmpfs[]",
    f"{POD}.volumes[].emptyDir",
    "emptyDir medium Memory with sizeLimit; mountOptions not expressible",
    "partial",
    subtree=True,
)
_e(f"{CD}.linuxParameters.maxSwap", None, "swap is a node setting (LimitedSwap) in Kubernetes", "unsupported")
_e(f"{CD}.linuxParameters.swappiness", None, "swap is a node setting in Kubernetes", "unsupported")
_e(
    f"{CD}.secrets[]",
    f"{C}.env[].valueFrom.secretKeyRef",
    "the AWS endpoint's stored Secret: SSM `ssm.<path>` key `value`; Secrets Manager `sm.<name>` "
    "key `value`|`json.<key>`|`v.<id>`; missing -> task stopped (ResourceInitializationError)",
    subtree=True,
)
_e(
    f"{CD}.dependsOn[]",
    f"{POD}.initContainers[]",
    "START/HEALTHY -> native sidecar (HEALTHY gated by startupProbe); SUCCESS/COMPLETE -> init container",
    subtree=True,
)
_e(
    f"{CD}.startTimeout",
    f"{POD}.initContainers[].startupProbe",
    "bounds the startup probe of a HEALTHY sidecar; otherwise annotation ecs.ecsk.io/start-timeouts",
    "partial",
)
_e(f"{CD}.stopTimeout", f"{POD}.terminationGracePeriodSeconds", "max over containers, default 30")
_e(
    f"{CD}.versionConsistency",
    None,
    "the kubelet pulls the tag per node; pin a digest in the image for consistency",
    "unsupported",
)
_e(f"{CD}.hostname", f"{POD}.hostname", "pod-wide: the first container's hostname")
_e(
    f"{CD}.user",
    f"{C}.securityContext.runAsUser/runAsGroup",
    "numeric uid[:gid]; names cannot be resolved",
    "partial",
)
_e(f"{CD}.workingDirectory", f"{C}.workingDir", "same")
_e(f"{CD}.disableNetworking", None, "containers of a pod share one network namespace", "unsupported")
_e(f"{CD}.privileged", f"{C}.securityContext.privileged", "same")
_e(f"{CD}.readonlyRootFilesystem", f"{C}.securityContext.readOnlyRootFilesystem", "same")
_e(f"{CD}.dnsServers", (f"{POD}.dnsPolicy", f"{POD}.dnsConfig.nameservers"), "dnsPolicy None, pod-wide")
_e(f"{CD}.dnsSearchDomains", f"{POD}.dnsConfig.searches", "pod-wide")
_e(f"{CD}.extraHosts[]", f"{POD}.hostAliases[]", "grouped by IP, pod-wide", subtree=True)
_e(
    f"{CD}.dockerSecurityOptions",
    f"{C}.securityContext",
    "no-new-privileges, apparmor:, label: (SELinux) mapped; others unsupported",
    "partial",
)
_e(f"{CD}.interactive", f"{C}.stdin", "same")
_e(f"{CD}.pseudoTerminal", f"{C}.tty", "same")
_e(
    f"{CD}.dockerLabels",
    "spec.template.metadata.annotations",
    "pod annotations (valid keys verbatim, all in ecs.ecsk.io/docker-labels); not labels (stability)",
    "annotation",
)
_e(
    f"{CD}.ulimits[]",
    "metadata.annotations['ecs.ecsk.io/ulimits']",
    "no Kubernetes field",
    "unsupported",
    subtree=True,
)
_e(
    f"{CD}.logConfiguration",
    "metadata.annotations['ecs.ecsk.io/log-configuration']",
    "logs are collected per node (Fluent Bit); driver options kept for it",
    "annotation",
    subtree=True,
)
_e(f"{CD}.healthCheck", None, "see sub-fields")
_e(
    f"{CD}.healthCheck.command",
    (f"{C}.readinessProbe.exec", f"{C}.livenessProbe.exec"),
    "CMD -> argv, CMD-SHELL -> /bin/sh -c; liveness only for essential containers",
)
_e(f"{CD}.healthCheck.interval", f"{C}.*Probe.periodSeconds", "default 30")
_e(f"{CD}.healthCheck.timeout", f"{C}.*Probe.timeoutSeconds", "default 5")
_e(f"{CD}.healthCheck.retries", f"{C}.*Probe.failureThreshold", "default 3")
_e(f"{CD}.healthCheck.startPeriod", f"{C}.startupProbe", "failures ignored until then: a startup probe")
_e(f"{CD}.systemControls[]", f"{POD}.securityContext.sysctls", "pod-wide", subtree=True)
_e(
    f"{CD}.resourceRequirements[]",
    f"{C}.resources.limits['nvidia.com/gpu']",
    "GPU count -> NVIDIA device plugin; GPU ALL / sharing and NeuronDevice ALL have no count (warned, "
    "not requested); InferenceAccelerator unsupported",
    "partial",
    subtree=True,
)
_e(
    f"{CD}.firelensConfiguration",
    f"{POD}.initContainers[] (native sidecar)",
    "the router starts before containers logging through it; logs are read from the node",
    "partial",
    subtree=True,
)
_e(
    f"{CD}.credentialSpecs",
    None,
    "gMSA: securityContext.windowsOptions.gmsaCredentialSpecName, set by the user",
    "unsupported",
)
_e(f"{TD}.volumes[]", f"{POD}.volumes[]", "by kind, see sub-fields")
_e(
    f"{TD}.volumes[].name",
    f"{POD}.volumes[].name",
    "DNS-1123 label (as container names); no source = emptyDir",
)
_e(f"{TD}.volumes[].host", f"{POD}.volumes[].emptyDir | hostPath", "no sourcePath: emptyDir", subtree=False)
_e(f"{TD}.volumes[].host.sourcePath", f"{POD}.volumes[].hostPath.path", "EC2 only")
_e(
    f"{TD}.volumes[].dockerVolumeConfiguration",
    f"{POD}.volumes[]",
    "task scope -> emptyDir; shared -> PVC `docker-<name>` (rendered if autoprovision)",
    "partial",
    subtree=True,
)
_e(
    f"{TD}.volumes[].efsVolumeConfiguration",
    ("StorageClass", "PersistentVolume", "PersistentVolumeClaim"),
    "efs.csi.aws.com: dynamic efs-ap StorageClass (basePath=rootDirectory) or static PV "
    "(volumeHandle fs::ap) when an access point is given",
    subtree=True,
)
_e(
    f"{TD}.volumes[].s3filesVolumeConfiguration",
    f"{POD}.volumes[].persistentVolumeClaim",
    "PVC `s3files-<id>` provided by the user (EFS CSI >= 3.0)",
    "partial",
    subtree=True,
)
_e(
    f"{TD}.volumes[].fsxWindowsFileServerVolumeConfiguration",
    f"{POD}.volumes[].persistentVolumeClaim",
    "PVC `fsx-<id>` provided by the user (SMB CSI); fsx.csi.aws.com is Lustre only",
    "partial",
    subtree=True,
)
_e(
    f"{TD}.volumes[].configuredAtLaunch",
    (f"{POD}.volumes[].ephemeral", "StorageClass"),
    "EBS per task: generic ephemeral volume on ebs.csi.aws.com (gp3 default)",
)
_e(
    f"{TD}.placementConstraints[]",
    (f"{POD}.affinity.nodeAffinity", f"{POD}.affinity.podAffinity"),
    "memberOf -> required node affinity (attributes as node labels) / pod affinity (task:group), "
    "compiled by the CQL engine; a regex needs the live nodes (deferred by `ecsk render`); "
    "kept in annotation ecs.ecsk.io/task-placement-constraints",
    "hook",
    subtree=True,
)
_e(
    f"{TD}.requiresCompatibilities",
    "metadata.annotations['ecs.ecsk.io/requires-compatibilities']",
    "launch compatibility is checked by validation; placement hook decides nodes",
    "annotation",
)
_e(f"{TD}.cpu", f"{POD}.resources.{{requests,limits}}.cpu", "pod-level resources (fallback: per container)")
_e(
    f"{TD}.memory",
    f"{POD}.resources.{{requests,limits}}.memory",
    "pod-level resources (fallback: per container)",
)
_e(
    f"{TD}.tags[]",
    "metadata.labels['tags.ecs.ecsk.io/<key>']",
    "sanitised labels on the rendered objects",
    subtree=True,
)
_e(f"{TD}.pidMode", (f"{POD}.hostPID", f"{POD}.shareProcessNamespace"), "host -> hostPID; task -> shared")
_e(f"{TD}.ipcMode", f"{POD}.hostIPC", "host -> hostIPC; task is the pod default; none unsupported", "partial")
_e(
    f"{TD}.proxyConfiguration",
    "metadata.annotations['ecs.ecsk.io/proxy-configuration']",
    "App Mesh iptables redirection is not rendered",
    "annotation",
    subtree=True,
)
_e(f"{TD}.inferenceAccelerators[]", None, "Elastic Inference is retired", "unsupported", subtree=True)
_e(
    f"{TD}.ephemeralStorage",
    f"{C}.resources.requests.ephemeral-storage",
    "requested on the first essential container",
    subtree=True,
)
_e(f"{TD}.runtimePlatform", None, "see sub-fields")
_e(
    f"{TD}.runtimePlatform.cpuArchitecture",
    f"{POD}.nodeSelector['kubernetes.io/arch']",
    "X86_64->amd64, ARM64->arm64",
)
_e(
    f"{TD}.runtimePlatform.operatingSystemFamily",
    (f"{POD}.nodeSelector['kubernetes.io/os']", f"{POD}.os.name"),
    "LINUX->linux, WINDOWS_*->windows",
)
_e(
    f"{TD}.enableFaultInjection",
    None,
    "ECS fault-injection endpoints have no Kubernetes counterpart",
    "unsupported",
)
_e(
    f"{TD}.trustedExecutionConfiguration",
    None,
    "trusted execution (isolation mode, attestation) is an ECS Managed Instances feature: "
    "accepted, not rendered",
    "unsupported",
)
for _f in (
    "taskDefinitionArn",
    "status",
    "requiresAttributes[]",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
):
    _e(f"{TD}.{_f}", None, "read-only describe output", "read-only", subtree=True)
_e(
    f"{TD}.revision",
    "metadata.labels['ecs.ecsk.io/revision']",
    "revision label (the only label that changes)",
)

# --- service ----------------------------------------------------------------------------------
D = "spec"
_e(f"{SVC}.cluster", "metadata.labels['ecs.ecsk.io/cluster']", "label; the namespace comes from --namespace")
_e(
    f"{SVC}.serviceName",
    ("metadata.name", "metadata.labels['ecs.ecsk.io/service']"),
    "DNS-1035 name (<=57 chars) for the workload, Services, Ingress; label ecs.ecsk.io/service",
)
_e(f"{SVC}.taskDefinition", "spec.template", "the task definition rendered as the pod template")
_e(
    f"{SVC}.availabilityZoneRebalancing",
    "metadata.annotations['ecs.ecsk.io/az-rebalancing']",
    "zone spread is the placement hook's job",
    "annotation",
)
_e(
    f"{SVC}.loadBalancers[]",
    ("Service", "Ingress", "TargetGroupBinding"),
    "Service + ALB Ingress / NLB Service, TargetGroupBinding for targetGroupArn",
    subtree=False,
)
_e(f"{SVC}.loadBalancers[].targetGroupArn", "TargetGroupBinding.spec.targetGroupARN", "elbv2.k8s.aws/v1beta1")
_e(
    f"{SVC}.loadBalancers[].loadBalancerName",
    "Service(type LoadBalancer)",
    "Classic ELB: in-tree LoadBalancer",
)
_e(f"{SVC}.loadBalancers[].containerName", "Service.spec.selector", "the pods of the service")
_e(f"{SVC}.loadBalancers[].containerPort", "Service.spec.ports[].targetPort", "the container port")
_e(
    f"{SVC}.loadBalancers[].advancedConfiguration",
    "metadata.annotations['ecs.ecsk.io/load-balancers']",
    "blue/green listener rules are operator work",
    "annotation",
    subtree=True,
)
_e(
    f"{SVC}.serviceRegistries[]",
    "Service(clusterIP None)",
    "Cloud Map -> headless Service `<name>-sd`: A records per pod, SRV via the named port",
    subtree=True,
)
_e(f"{SVC}.desiredCount", f"{D}.replicas", "REPLICA only")
_e(f"{SVC}.clientToken", None, "idempotency token of the API call", "read-only")
_e(
    f"{SVC}.launchType",
    (f"{D}.template.spec.schedulingGates", "metadata.annotations['ecs.ecsk.io/launch-type']"),
    "FARGATE -> scheduling gate ecs.ecsk.io/fargate + toleration (the operator makes a node per task); "
    "EC2 -> no gate",
    "hook",
)
_e(
    f"{SVC}.capacityProviderStrategy[]",
    (f"{D}.template.spec.schedulingGates", "metadata.annotations['ecs.ecsk.io/capacity-provider-strategy']"),
    "ASG providers -> scheduling gate ecs.ecsk.io/capacity-provider: the operator picks each task's "
    "provider by base/weight and pins its nodes; FARGATE/FARGATE_SPOT -> the Fargate gate",
    "hook",
    subtree=True,
)
_e(f"{SVC}.platformVersion", None, "Fargate platform versions do not exist in Kubernetes", "unsupported")
_e(f"{SVC}.role", None, "service-linked role; the AWS Load Balancer Controller has its own", "unsupported")
_e(f"{SVC}.deploymentConfiguration", None, "see sub-fields")
_e(
    f"{SVC}.deploymentConfiguration.deploymentCircuitBreaker",
    "metadata.annotations['ecs.ecsk.io/circuit-breaker*']",
    "operator counts failed tasks (threshold 0.5 x desired clamped to [3,200])",
    "operator",
    subtree=True,
)
_e(
    f"{SVC}.deploymentConfiguration.maximumPercent",
    f"{D}.strategy.rollingUpdate.maxSurge",
    "floor(desired*max/100) - desired, absolute",
)
_e(
    f"{SVC}.deploymentConfiguration.minimumHealthyPercent",
    f"{D}.strategy.rollingUpdate.maxUnavailable",
    "desired - ceil(desired*min/100), absolute",
)
_e(
    f"{SVC}.deploymentConfiguration.alarms",
    "metadata.annotations['ecs.ecsk.io/deployment-alarms']",
    "CloudWatch alarms are watched by the operator",
    "operator",
    subtree=True,
)
_e(
    f"{SVC}.deploymentConfiguration.strategy",
    f"{D}.strategy",
    "ROLLING -> RollingUpdate; BLUE_GREEN/LINEAR/CANARY kept for the operator",
    "partial",
)
for _f in ("bakeTimeInMinutes", "lifecycleHooks[]", "linearConfiguration", "canaryConfiguration"):
    _e(
        f"{SVC}.deploymentConfiguration.{_f}",
        "metadata.annotations['ecs.ecsk.io/deployment-configuration']",
        "ECS-native deployment strategies are operator work",
        "operator",
        subtree=True,
    )
_e(
    f"{SVC}.placementConstraints[]",
    (f"{D}.template.spec.affinity.podAntiAffinity", f"{D}.template.spec.affinity.nodeAffinity"),
    "distinctInstance -> required pod anti-affinity on kubernetes.io/hostname; memberOf -> required "
    "node affinity / pod affinity (regexes need the live nodes: deferred by `ecsk render`)",
    "hook",
    subtree=True,
)
_e(
    f"{SVC}.placementStrategy[]",
    (f"{D}.template.spec.topologySpreadConstraints", f"{D}.template.spec.schedulerName"),
    "spread -> topology spread constraint (ScheduleAnyway); binpack cpu|memory -> scheduler profile "
    "ecsk-binpack-<field>; random -> default profile; later rules only break ties; "
    "kept in annotation ecs.ecsk.io/placement-strategy",
    "hook",
    subtree=True,
)
_e(f"{SVC}.networkConfiguration", None, "see sub-fields")
_e(f"{SVC}.networkConfiguration.awsvpcConfiguration", None, "see sub-fields")
_e(
    f"{SVC}.networkConfiguration.awsvpcConfiguration.subnets",
    "metadata.annotations['ecs.ecsk.io/subnets']",
    "pods get IPs from the CNI; subnets inform the placement hook",
    "annotation",
)
_e(
    f"{SVC}.networkConfiguration.awsvpcConfiguration.securityGroups",
    ("NetworkPolicy", "pod labels"),
    "pods labelled sg.ecs.ecsk.io/<sg>; NetworkPolicy admits same-SG peers and LB ports (rules live in EC2)",
    "partial",
)
_e(
    f"{SVC}.networkConfiguration.awsvpcConfiguration.assignPublicIp",
    None,
    "pods have no public IPs; use a load balancer",
    "unsupported",
)
_e(
    f"{SVC}.healthCheckGracePeriodSeconds",
    "metadata.annotations['ecs.ecsk.io/health-check-grace-period']",
    "operator ignores failing health for that long; minReadySeconds is not the same",
    "operator",
)
_e(f"{SVC}.schedulingStrategy", "kind", "REPLICA -> Deployment, DAEMON -> DaemonSet")
_e(
    f"{SVC}.deploymentController",
    None,
    "ECS -> rolling update; CODE_DEPLOY/EXTERNAL: annotation",
    "partial",
    subtree=True,
)
_e(f"{SVC}.tags[]", "metadata.labels['tags.ecs.ecsk.io/<key>']", "sanitised labels", subtree=True)
_e(f"{SVC}.enableECSManagedTags", None, "ECS-managed tags are labels ecsk always sets", "partial")
_e(
    f"{SVC}.propagateTags",
    ("spec.template.metadata.labels", "spec.template.metadata.annotations['ecs.ecsk.io/tags']"),
    "SERVICE tags -> pod labels + annotation; TASK_DEFINITION tags -> annotation only (labels stay stable)",
)
_e(f"{SVC}.enableExecuteCommand", None, "kubectl exec is always available (RBAC decides)", "partial")
_e(
    f"{SVC}.serviceConnectConfiguration",
    "Service",
    "each service port -> ClusterIP Service named discoveryName/portName with the client alias port",
    "partial",
    subtree=True,
)
_e(
    f"{SVC}.volumeConfigurations[]",
    f"{POD}.volumes[].ephemeral",
    "EBS settings for configuredAtLaunch volumes: StorageClass parameters and size",
    subtree=True,
)
_e(
    f"{SVC}.vpcLatticeConfigurations[]",
    None,
    "VPC Lattice: use the Gateway API controller",
    "unsupported",
    subtree=True,
)
_e(
    f"{SVC}.gatewayConnectors",
    None,
    "ECS gateway ingress paths: use an Ingress or the Gateway API; accepted, not rendered",
    "unsupported",
)
_e(
    f"{SVC}.monitoring",
    None,
    "CloudWatch metric resolution of the service; ecsk's metrics come from the pods",
    "unsupported",
)
_e(
    f"{SVC}.deploymentConfiguration.earlySuccessCriteria",
    None,
    "early deployment success: the operator completes a rollout when every new task is healthy",
    "unsupported",
)
for _f in (
    "serviceArn",
    "clusterArn",
    "status",
    "runningCount",
    "pendingCount",
    "platformFamily",
    "taskSets",
    "deployments[]",
    "roleArn",
    "events[]",
    "createdAt",
    "createdBy",
    "currentServiceDeployment",
    "currentServiceRevisions[]",
    "resourceManagementType",
):
    _e(f"{SVC}.{_f}", None, "read-only describe output", "read-only", subtree=True)


def lookup(pattern_path: str) -> Coverage | None:
    """Entry for a pattern path, or the nearest ancestor entry marked subtree."""
    entry = COVERAGE.get(pattern_path) or COVERAGE.get(pattern_path + "[]")
    if entry is not None:
        return entry
    probe = pattern_path
    while True:
        cut = probe.rfind(".")
        if cut <= 0:
            return None
        probe = probe[:cut]
        entry = COVERAGE.get(probe) or COVERAGE.get(probe + "[]")
        if entry is not None and entry.subtree:
            return entry


def render_markdown() -> str:
    """docs/field-coverage.md, generated: do not edit the document by hand."""
    lines = [
        "# ECS field coverage",
        "",
        "<!-- GENERATED by `python -m ecsk.core.translate.coverage > docs/field-coverage.md`. -->",
        "",
        "Every field of the ECS models and where the translation puts it. `subtree` rows account for",
        "all fields below them. Status: mapped (same meaning), partial (closest equivalent, see note),",
        "annotation (kept verbatim), operator (enforced by the operator at run time), hook (placement",
        "extension point), unsupported (no Kubernetes equivalent; reported), read-only (describe output).",
        "",
    ]
    for root, title in ((TD, "Task definition"), (SVC, "Service")):
        lines += [f"## {title}", "", "| ECS field | Kubernetes target | status | note |", "|---|---|---|---|"]
        for key, cov in COVERAGE.items():
            if not key.startswith(root + "."):
                continue
            field = key[len(root) + 1 :] + (" (subtree)" if cov.subtree else "")
            target = "<br>".join(cov.targets) if cov.targets else "—"
            lines.append(f"| `{field}` | {_md(target)} | {cov.status} | {_md(cov.note)} |")
        lines.append("")
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render_markdown())
