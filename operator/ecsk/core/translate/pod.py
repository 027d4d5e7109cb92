"""Task definition -> pod template spec: container placement, pod-wide fields, side objects.

Container start order is the subtle part. ECS starts containers concurrently unless `dependsOn`
says otherwise; Kubernetes starts init containers one by one, then the app containers together.
So: a container others wait on until it has *started* or is *healthy* becomes a native sidecar
(an init container with restartPolicy: Always, kept running; its startup probe is what the next
container waits for), and one others wait on until it has *exited* becomes an ordinary init
container (run to completion, must exit 0). Everything else stays an app container. The order
inside initContainers is a topological sort of the dependencies, stable on ECS order.
"""

from __future__ import annotations

import json
from typing import Any

from ecsk.core.models import ContainerDefinition, TaskDefinition
from ecsk.core.translate import containers, names, networking, probes, resources, volumes
from ecsk.core.translate.types import Context

GATE_RUNNING = {"START", "HEALTHY"}
GATE_EXITED = {"COMPLETE", "SUCCESS"}
DEFAULT_STOP_TIMEOUT = 30


def dependency_roles(td: TaskDefinition) -> dict[str, str]:
    """container name -> "sidecar" | "init" | "app". A container that something waits on to exit
    is an init container even if something else also waits on it to start (it did start)."""
    wanted: dict[str, set[str]] = {}
    for c in td.containerDefinitions:
        for dep in c.dependsOn or ():
            wanted.setdefault(dep.containerName, set()).add(dep.condition)
        if c.logConfiguration is not None and c.logConfiguration.logDriver == "awsfirelens":
            # ECS starts the FireLens router before the containers that log through it.
            for other in td.containerDefinitions:
                if other.firelensConfiguration is not None and other.name:
                    wanted.setdefault(other.name, set()).add("START")
    roles: dict[str, str] = {}
    for c in td.containerDefinitions:
        conds = wanted.get(c.name or "", set())
        roles[c.name or ""] = (
            "init" if conds & GATE_EXITED else ("sidecar" if conds & GATE_RUNNING else "app")
        )
    return roles


def init_order(td: TaskDefinition, roles: dict[str, str], ctx: Context) -> list[str]:
    """Topological order of init/sidecar containers (dependencies first), ties in ECS order."""
    pending = [c for c in td.containerDefinitions if roles.get(c.name or "") != "app"]
    deps = {
        c.name: [d.containerName for d in c.dependsOn or () if roles.get(d.containerName) != "app"]
        for c in pending
    }
    order: list[str] = []
    placed: set[str] = set()
    while pending:
        for c in pending:
            if all(d in placed for d in deps[c.name]):
                order.append(c.name or "")
                placed.add(c.name or "")
                pending.remove(c)
                break
        else:
            ctx.error("containerDefinitions[*].dependsOn", "dependsOn contains a cycle", "DependencyCycle")
            order.extend(c.name or "" for c in pending)
            break
    return order


def _wrap_complete(c: ContainerDefinition, out: dict[str, Any], path: str, ctx: Context) -> None:
    """COMPLETE = "exited, whatever the code"; an init container must exit 0. When the full argv
    is known (entryPoint given) it is wrapped in `sh -c '"$@" || true'`; otherwise explained."""
    if c.entryPoint:
        argv = [*c.entryPoint, *(c.command or [])]
        out["command"] = ["/bin/sh", "-c", '"$@" || true', "ecsk-complete", *argv]
        out.pop("args", None)
        ctx.note(
            f"{path}.entryPoint",
            "spec.initContainers[*].command",
            "COMPLETE dependency: wrapped in sh -c '\"$@\" || true' so any exit code lets the task "
            "proceed (needs /bin/sh in the image)",
        )
    else:
        ctx.warn(
            path,
            "a COMPLETE dependency becomes an init container, which must exit 0 (SUCCESS "
            "semantics): without entryPoint the image's entrypoint cannot be wrapped",
            "CompleteAsSuccess",
        )


def build_pod_spec(
    td: TaskDefinition,
    ctx: Context,
    *,
    ebs: dict[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(pod spec, pod annotations)."""
    mode = td.effective_network_mode()
    ctx.container_names = names.task_local_names(
        [c.name or f"container-{i}" for i, c in enumerate(td.containerDefinitions)]
    )
    roles = dependency_roles(td)
    pod: dict[str, Any] = {}
    pod_volumes, name_map = volumes.pod_volumes(td, ctx, ebs)
    built: dict[str, dict[str, Any]] = {}
    extra_vols: list[dict[str, Any]] = []
    by_name: dict[str, ContainerDefinition] = {}
    index: dict[str, int] = {}
    wanted_healthy: set[str] = set()
    for c in td.containerDefinitions:
        for d in c.dependsOn or ():
            if d.condition == "HEALTHY":
                wanted_healthy.add(d.containerName)
    k8s_names: list[str] = []
    for i, c in enumerate(td.containerDefinitions):
        key = c.name or f"container-{i}"
        role = roles.get(c.name or "", "app")
        k8s = f"spec.{'initContainers' if role != 'app' else 'containers'}[{ctx.cname(key)}]"
        out, vols = containers.build_container(c, i, k8s, mode, name_map, ctx)
        k8s_names.append(out["name"])
        extra_vols.extend(vols)
        built[key] = out
        by_name[key] = c
        index[key] = i
        path = f"containerDefinitions[{i}]"
        if c.healthCheck is not None:
            out.update(
                probes.build_probes(
                    c.healthCheck,
                    f"{path}.healthCheck",
                    k8s,
                    ctx,
                    essential=c.is_essential,
                    gate_start=key in wanted_healthy,
                    start_timeout=c.startTimeout if role == "sidecar" else None,
                )
            )
        elif key in wanted_healthy:
            ctx.error(
                f"{path}.healthCheck",
                f"dependency on container {key} with condition HEALTHY "
                "requires a healthCheck on that container",
                "HealthyWithoutHealthCheck",
            )
        if c.startTimeout:
            ctx.note(
                f"{path}.startTimeout",
                f"{k8s}.startupProbe.failureThreshold" if role == "sidecar" and c.healthCheck else None,
                "bounds the startup probe of the sidecar others wait for"
                if role == "sidecar" and c.healthCheck
                else "dependency wait budget: Kubernetes waits for init containers "
                "without a deadline; kept in annotation ecs.ecsk.io/start-timeouts",
            )
        if role == "sidecar":
            out["restartPolicy"] = "Always"
        elif role == "init" and c.healthCheck is not None:
            # the apiserver refuses probes on run-to-completion init containers; its exit code is
            # what the dependent containers wait for anyway
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                out.pop(probe, None)
            for key in [k for k in ctx.notes if k.startswith(f"{path}.healthCheck.")]:
                del ctx.notes[key]
            ctx.note(
                f"{path}.healthCheck",
                None,
                "runs to completion as an init container: Kubernetes allows no "
                "probes there, the exit code is the signal",
            )
        if role == "init" and any(
            d.containerName == key and d.condition == "COMPLETE"
            for o in td.containerDefinitions
            for d in o.dependsOn or ()
        ):
            _wrap_complete(c, out, path, ctx)
        for j, d in enumerate(c.dependsOn or ()):
            ctx.note(
                f"{path}.dependsOn[{j}]",
                f"spec.initContainers[{ctx.cname(d.containerName)}]",
                _DEP_NOTES[d.condition],
            )
            if d.containerName not in roles:
                ctx.error(
                    f"{path}.dependsOn[{j}].containerName",
                    f"dependsOn container {d.containerName!r} is not defined",
                    "UnknownDependency",
                )
        ctx.note(f"{path}.essential", None, _ESSENTIAL[(c.is_essential, role)])

    # volumesFrom needs every container's own mounts first.
    mounts = {k: v.get("volumeMounts", []) for k, v in built.items()}
    if any(c.volumesFrom for c in td.containerDefinitions):
        volumes.resolve_volumes_from(td, mounts, ctx)
        for k, v in built.items():
            if mounts[k]:
                v["volumeMounts"] = mounts[k]

    inits = [built[n] for n in init_order(td, roles, ctx)]
    apps = [
        built[c.name or f"container-{i}"]
        for i, c in enumerate(td.containerDefinitions)
        if roles.get(c.name or "") == "app"
    ]
    if not apps:
        ctx.error(
            "containerDefinitions", "every container is a dependency of another: no app container is left"
        )
    if inits:
        pod["initContainers"] = inits
    pod["containers"] = apps

    essential_apps = [
        built[k] for k, c in by_name.items() if c.is_essential and roles.get(c.name or "") == "app"
    ]
    resources.ephemeral_storage(td, essential_apps or apps, ctx)
    resources.apply_task_resources(td, pod, [*apps, *(i for i in inits if i.get("restartPolicy"))], ctx)

    all_vols = pod_volumes + extra_vols
    if all_vols:
        pod["volumes"] = all_vols
    pulls = _pull_secrets(td, ctx)
    if pulls:
        pod["imagePullSecrets"] = [{"name": n} for n in pulls]
    stop = max(
        (c.stopTimeout for c in td.containerDefinitions if c.stopTimeout is not None),
        default=DEFAULT_STOP_TIMEOUT,
    )
    pod["terminationGracePeriodSeconds"] = stop
    for i, c in enumerate(td.containerDefinitions):
        if c.stopTimeout is not None:
            ctx.note(
                f"containerDefinitions[{i}].stopTimeout",
                "spec.terminationGracePeriodSeconds",
                "one grace period per pod: the maximum over containers (ECS default 30)",
            )
    networking.pod_network(td, pod, ctx)
    networking.dns_and_hosts(td, pod, ctx)
    _pod_fields(td, pod, ctx)
    if pod.get("os", {}).get("name") == "windows":
        _strip_linux_only(pod, ctx)
    ann = containers.container_annotations(td.containerDefinitions, k8s_names, ctx)
    ann.update(_pod_annotations(td, roles, by_name, ctx))
    first = next((b["name"] for b in essential_apps), None)
    if first:
        ann["kubectl.kubernetes.io/default-container"] = first
    return pod, ann


_DEP_NOTES = {
    "START": "START: the dependency is a native sidecar (init container, restartPolicy Always) started first",
    "HEALTHY": "HEALTHY: the dependency is a native sidecar whose startup probe (from its healthCheck) must "
    "pass before later containers start",
    "SUCCESS": "SUCCESS: the dependency is an init container; Kubernetes requires exit 0 before continuing",
    "COMPLETE": "COMPLETE: the dependency is an init container; any exit code is accepted by wrapping its "
    "command (see essential note) or, without entryPoint, exit 0 is required",
}

_ESSENTIAL = {
    (True, "app"): "essential: Kubernetes has no 'essential'; in a service the pod is replaced on failure "
    "(liveness), for standalone tasks (restartPolicy Never) the operator stops the task when an essential "
    "container exits (stopCode EssentialContainerExited); names in ecs.ecsk.io/essential-containers",
    (
        False,
        "app",
    ): "non-essential: its exit does not stop the task; under a Deployment the kubelet restarts it "
    "(restartPolicy Always), for standalone tasks it stays exited",
    (True, "sidecar"): "essential sidecar: Kubernetes restarts a failed sidecar in place; the operator stops "
    "standalone tasks whose essential sidecar exits",
    (False, "sidecar"): "non-essential sidecar: restarted in place by the kubelet",
    (True, "init"): "an essential container cannot be a COMPLETE/SUCCESS dependency in ECS",
    (False, "init"): "runs to completion before the app containers (init container)",
}


_LINUX_ONLY_SC = (
    "runAsUser",
    "runAsGroup",
    "seLinuxOptions",
    "seccompProfile",
    "capabilities",
    "readOnlyRootFilesystem",
    "privileged",
    "allowPrivilegeEscalation",
    "procMount",
    "appArmorProfile",
)


def _strip_linux_only(pod: dict[str, Any], ctx: Context) -> None:
    """Windows pods (spec.os.name windows) may not carry Linux security settings; the apiserver
    rejects them, and ECS ignores them on Windows too."""
    for c in [*pod.get("initContainers", []), *pod["containers"]]:
        sc = c.get("securityContext")
        if not sc:
            continue
        dropped = [k for k in _LINUX_ONLY_SC if k in sc]
        for k in dropped:
            del sc[k]
        if not sc:
            del c["securityContext"]
        if dropped:
            ctx.warn(
                f"containerDefinitions[{c['name']}]",
                f"Linux-only settings {dropped} dropped on a Windows pod",
            )
    for key in ("shareProcessNamespace", "hostPID", "hostIPC", "securityContext"):
        if pod.pop(key, None) is not None:
            ctx.warn(key, f"{key} is not supported on Windows pods; dropped")


def _pull_secrets(td: TaskDefinition, ctx: Context) -> list[str]:
    from ecsk.core.translate.secrets import pull_secret

    out = list(ctx.options.image_pull_secrets)
    for i, c in enumerate(td.containerDefinitions):
        name = pull_secret(c, f"containerDefinitions[{i}]", ctx)
        if name and name not in out:
            out.append(name)
    return out


_OS = {"LINUX": "linux"}
_ARCH = {"X86_64": "amd64", "ARM64": "arm64"}


def _pod_fields(td: TaskDefinition, pod: dict[str, Any], ctx: Context) -> None:
    if td.taskRoleArn:
        sa = names.service_account_name(td.taskRoleArn)
        pod["serviceAccountName"] = sa
        ctx.add_object(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": sa,
                    "namespace": ctx.options.namespace,
                    "labels": {names.MANAGED_BY: "ecsk"},
                    "annotations": {"eks.amazonaws.com/role-arn": td.taskRoleArn},
                },
            }
        )
        ctx.note(
            "taskRoleArn",
            ("spec.serviceAccountName", f"ServiceAccount/{sa}"),
            "one ServiceAccount per role (IRSA annotation eks.amazonaws.com/role-arn)",
        )
    else:
        pod["automountServiceAccountToken"] = False
    rp = td.runtimePlatform
    if rp is not None:
        sel: dict[str, str] = {}
        if rp.operatingSystemFamily:
            sel["kubernetes.io/os"] = _OS.get(rp.operatingSystemFamily, "windows")
            ctx.note(
                "runtimePlatform.operatingSystemFamily",
                "spec.nodeSelector['kubernetes.io/os']",
                "LINUX -> linux, WINDOWS_* -> windows (the Windows build is not selectable by label)",
            )
            if sel["kubernetes.io/os"] == "windows":
                pod["os"] = {"name": "windows"}
        if rp.cpuArchitecture:
            sel["kubernetes.io/arch"] = _ARCH[rp.cpuArchitecture]
            ctx.note(
                "runtimePlatform.cpuArchitecture",
                "spec.nodeSelector['kubernetes.io/arch']",
                "X86_64 -> amd64, ARM64 -> arm64",
            )
        if sel:
            pod["nodeSelector"] = sel
    if td.pidMode == "host":
        pod["hostPID"] = True
        ctx.note("pidMode", "spec.hostPID", "host PID namespace")
    elif td.pidMode == "task":
        pod["shareProcessNamespace"] = True
        ctx.note("pidMode", "spec.shareProcessNamespace", "one PID namespace for the task's containers")
    if td.ipcMode == "host":
        pod["hostIPC"] = True
        ctx.note("ipcMode", "spec.hostIPC", "host IPC namespace")
    elif td.ipcMode == "task":
        ctx.note("ipcMode", None, "containers of a pod always share one IPC namespace")
    elif td.ipcMode == "none":
        ctx.note("ipcMode", None, "Kubernetes cannot give containers private IPC namespaces inside a pod")
    sysctls: dict[str, str] = {}
    for i, c in enumerate(td.containerDefinitions):
        p = f"containerDefinitions[{i}]"
        lp = c.linuxParameters
        if lp is not None and lp.initProcessEnabled:
            pod["shareProcessNamespace"] = True
            ctx.note(
                f"{p}.linuxParameters.initProcessEnabled",
                "spec.shareProcessNamespace",
                "the pause container becomes PID 1 and reaps zombies (containers see each other's "
                "processes); use tini in the image for a per-container init",
            )
        for sc in c.systemControls or ():
            if sc.namespace and sc.value is not None:
                sysctls.setdefault(sc.namespace, sc.value)
        if c.systemControls:
            ctx.note(
                f"{p}.systemControls",
                "spec.securityContext.sysctls",
                "pod-wide sysctls; unsafe ones need the kubelet's allowedUnsafeSysctls",
            )
    for key in list(sysctls):
        # the apiserver refuses namespaced sysctls for a namespace the pod shares with the host
        ipc = key.startswith(("kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue."))
        if (key.startswith("net.") and pod.get("hostNetwork")) or (ipc and pod.get("hostIPC")):
            del sysctls[key]
            ctx.warn(
                "containerDefinitions[*].systemControls",
                f"sysctl {key} cannot be set in a namespace shared with the host; dropped",
                "Sysctl",
            )
    if sysctls:
        pod["securityContext"] = {"sysctls": [{"name": k, "value": v} for k, v in sysctls.items()]}


def _pod_annotations(
    td: TaskDefinition, roles: dict[str, str], by_name: dict[str, ContainerDefinition], ctx: Context
) -> dict[str, str]:
    a = names.ANN
    ann: dict[str, str] = {}
    ess = [ctx.cname(k) for k, c in by_name.items() if c.is_essential]
    ann[f"{a}essential-containers"] = ",".join(ess)
    if td.executionRoleArn:
        ann[f"{a}execution-role-arn"] = td.executionRoleArn
        ctx.note(
            "executionRoleArn",
            f"metadata.annotations['{a}execution-role-arn']",
            "the kubelet pulls images with the node's credentials (EKS node role / kind registry); "
            "repositoryCredentials become imagePullSecrets; the operator uses this role to sync secrets",
        )
    if td.requiresCompatibilities:
        ann[f"{a}requires-compatibilities"] = ",".join(td.requiresCompatibilities)
    if td.placementConstraints:
        ann[f"{a}task-placement-constraints"] = _json([p.to_aws() for p in td.placementConstraints])
    if td.proxyConfiguration is not None:
        ann[f"{a}proxy-configuration"] = _json(td.proxyConfiguration.to_aws())
        ctx.warn(
            "proxyConfiguration",
            "App Mesh traffic redirection (iptables) is not rendered: use the App "
            "Mesh controller's injected proxyinit, or Service Connect",
            "AppMeshProxy",
        )
    starts = {ctx.cname(k): c.startTimeout for k, c in by_name.items() if c.startTimeout}
    if starts:
        ann[f"{a}start-timeouts"] = _json(starts)
    devices = {
        ctx.cname(k): [d.to_aws() for d in c.linuxParameters.devices]
        for k, c in by_name.items()
        if c.linuxParameters and c.linuxParameters.devices
    }
    if devices:
        ann[f"{a}devices"] = _json(devices)
        ctx.warn(
            "containerDefinitions[*].linuxParameters.devices",
            "host devices need a device plugin or privileged mode in Kubernetes; not mapped",
            "Devices",
        )
    if td.inferenceAccelerators:
        ctx.warn(
            "inferenceAccelerators", "Elastic Inference has no Kubernetes equivalent", "InferenceAccelerator"
        )
    return ann


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
