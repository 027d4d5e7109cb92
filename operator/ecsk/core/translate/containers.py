"""One ECS container definition to one Kubernetes container (the per-container fields).

Pod-wide consequences (init/sidecar placement, volumes, DNS) are decided in `pod.py`; this module
only fills the container dict and records where each field went.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ecsk.core.models import ContainerDefinition
from ecsk.core.translate import names, networking, resources, secrets, volumes
from ecsk.core.translate.types import IMAGE_PULL_POLICY, Context

_NUMERIC = re.compile(r"^\d+$")


def rewrite_image(image: str, rewrite: dict[str, str] | Any) -> str:
    """Longest matching prefix wins, so `123.dkr.ecr.../team=` can override a registry-wide rule."""
    best = ""
    for src in rewrite:
        if image.startswith(src) and len(src) > len(best):
            best = src
    return f"{rewrite[best]}{image[len(best) :]}" if best else image


def security_context(c: ContainerDefinition, path: str, k8s: str, ctx: Context) -> dict[str, Any]:
    sc: dict[str, Any] = {}
    if c.privileged is not None:
        sc["privileged"] = c.privileged
        ctx.note(f"{path}.privileged", f"{k8s}.securityContext.privileged", "same meaning")
    if c.readonlyRootFilesystem is not None:
        sc["readOnlyRootFilesystem"] = c.readonlyRootFilesystem
        ctx.note(
            f"{path}.readonlyRootFilesystem", f"{k8s}.securityContext.readOnlyRootFilesystem", "same meaning"
        )
    if c.user:
        user, _, group = c.user.partition(":")
        if _NUMERIC.match(user) and (not group or _NUMERIC.match(group)):
            sc["runAsUser"] = int(user)
            if group:
                sc["runAsGroup"] = int(group)
            ctx.note(
                f"{path}.user",
                f"{k8s}.securityContext.runAsUser" + ("/runAsGroup" if group else ""),
                "numeric uid[:gid]",
            )
        else:
            ctx.warn(
                f"{path}.user",
                f"user {c.user!r} is a name: Kubernetes only takes numeric ids, so the "
                "image's /etc/passwd cannot be consulted; the image default user applies",
                "UserName",
            )
            ctx.note(f"{path}.user", None, "names need /etc/passwd of the image; only numeric uid[:gid] maps")
    lp = c.linuxParameters
    if lp is not None and lp.capabilities is not None:
        caps: dict[str, list[str]] = {}
        if lp.capabilities.add:
            caps["add"] = [x.removeprefix("CAP_") for x in lp.capabilities.add]
        if lp.capabilities.drop:
            caps["drop"] = [x.removeprefix("CAP_") for x in lp.capabilities.drop]
        if caps:
            sc["capabilities"] = caps
            ctx.note(
                f"{path}.linuxParameters.capabilities", f"{k8s}.securityContext.capabilities", "add/drop"
            )
    for i, opt in enumerate(c.dockerSecurityOptions or ()):
        p = f"{path}.dockerSecurityOptions[{i}]"
        if opt == "no-new-privileges":
            sc["allowPrivilegeEscalation"] = False
            ctx.note(p, f"{k8s}.securityContext.allowPrivilegeEscalation", "no-new-privileges -> false")
        elif opt.startswith("apparmor:"):
            profile = opt.split(":", 1)[1]
            sc["appArmorProfile"] = (
                {"type": "Unconfined"}
                if profile == "unconfined"
                else {"type": "Localhost", "localhostProfile": profile}
            )
            ctx.note(p, f"{k8s}.securityContext.appArmorProfile", "AppArmor profile")
        elif opt.startswith("label:") and opt.count(":") >= 2:
            _, field, value = opt.split(":", 2)
            if field in ("user", "role", "type", "level"):
                sc.setdefault("seLinuxOptions", {})[field] = value
                ctx.note(p, f"{k8s}.securityContext.seLinuxOptions.{field}", "SELinux label")
            else:
                ctx.note(p, None, f"SELinux option {field!r} has no Kubernetes field")
        else:
            ctx.warn(p, f"docker security option {opt!r} has no Kubernetes equivalent", "SecurityOption")
            ctx.note(p, None, "no Kubernetes equivalent (credentialspec: see credentialSpecs)")
    return sc


def build_container(
    c: ContainerDefinition,
    index: int,
    k8s: str,
    mode: str,
    name_map: dict[str, str],
    ctx: Context,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(container, extra pod volumes for its tmpfs and /dev/shm). Probes are added by the caller,
    which knows whether the container gates others."""
    path = f"containerDefinitions[{index}]"
    name = ctx.cname(c.name or f"container-{index}")
    out: dict[str, Any] = {"name": name}
    if c.name != name:
        ctx.note(f"{path}.name", f"{k8s}.name", f"container name sanitised to a DNS label: {name!r}")
    else:
        ctx.note(f"{path}.name", f"{k8s}.name", "same name")
    if c.image:
        image = rewrite_image(c.image, ctx.options.image_rewrite)
        out["image"] = image
        ctx.note(f"{path}.image", f"{k8s}.image", "kept" if image == c.image else f"rewritten to {image!r}")
        policy = IMAGE_PULL_POLICY[ctx.options.image_pull_behavior]
        if policy:
            out["imagePullPolicy"] = policy
            ctx.note(
                f"{path}.image",
                f"{k8s}.imagePullPolicy",
                f"agent image pull behavior {ctx.options.image_pull_behavior!r}",
            )
    else:
        ctx.error(f"{path}.image", "Container.image should not be null or empty.")
    if c.entryPoint:
        out["command"] = list(c.entryPoint)
        ctx.note(f"{path}.entryPoint", f"{k8s}.command", "Docker ENTRYPOINT override = Kubernetes command")
    if c.command:
        out["args"] = list(c.command)
        ctx.note(f"{path}.command", f"{k8s}.args", "Docker CMD override = Kubernetes args")
    if c.workingDirectory:
        out["workingDir"] = c.workingDirectory
        ctx.note(f"{path}.workingDirectory", f"{k8s}.workingDir", "same meaning")
    out.update(secrets.container_env(c, path, k8s, ctx))
    ports = networking.container_ports(c, mode, path, k8s, ctx)
    if ports:
        out["ports"] = ports
    res = resources.container_resources(c, path, k8s, ctx)
    if res:
        out["resources"] = res
    mounts = volumes.container_mounts(c, path, k8s, name_map, ctx)
    extra_vols, extra_mounts = volumes.linux_volumes(c, name, path, k8s, ctx)
    mounts.extend(extra_mounts)
    if mounts:
        out["volumeMounts"] = mounts
    sc = security_context(c, path, k8s, ctx)
    if sc:
        out["securityContext"] = sc
    if c.interactive:
        out["stdin"] = True
        ctx.note(f"{path}.interactive", f"{k8s}.stdin", "docker -i")
    if c.pseudoTerminal:
        out["tty"] = True
        ctx.note(f"{path}.pseudoTerminal", f"{k8s}.tty", "docker -t")
    return out, extra_vols


def container_annotations(
    td_containers: list[ContainerDefinition], k8s_names: list[str], ctx: Context
) -> dict[str, str]:
    """ECS settings without a pod field, kept verbatim (JSON keyed by Kubernetes container name)
    so the operator and humans can still read them."""
    logs: dict[str, Any] = {}
    labels: dict[str, Any] = {}
    ulimits: dict[str, Any] = {}
    restart: dict[str, Any] = {}
    ann: dict[str, str] = {}
    for i, (c, name) in enumerate(zip(td_containers, k8s_names, strict=True)):
        p = f"containerDefinitions[{i}]"
        if c.logConfiguration is not None:
            logs[name] = c.logConfiguration.to_aws()
            driver = c.logConfiguration.logDriver
            ctx.note(
                f"{p}.logConfiguration",
                f"metadata.annotations['{names.ANN}log-configuration']",
                _LOG_NOTES.get(
                    driver, "kept as an annotation; container stdout/stderr is collected by the node"
                ),
            )
        if c.dockerLabels:
            labels[name] = c.dockerLabels
            for key, value in c.dockerLabels.items():
                if _annotation_key(key) and key not in ann:
                    ann[key] = value
            ctx.note(
                f"{p}.dockerLabels",
                "metadata.annotations",
                "pod annotations (valid keys verbatim + all under ecs.ecsk.io/docker-labels); not labels, "
                "since pod labels must stay stable across revisions",
            )
        if c.ulimits:
            ulimits[name] = [u.to_aws() for u in c.ulimits]
            ctx.note(
                f"{p}.ulimits",
                f"metadata.annotations['{names.ANN}ulimits']",
                "no Kubernetes field: the container runtime's default ulimits apply (kept as annotation)",
            )
        if c.restartPolicy is not None:
            restart[name] = c.restartPolicy.to_aws()
            ctx.note(
                f"{p}.restartPolicy",
                f"metadata.annotations['{names.ANN}restart-policy']",
                "in-place container restart: Deployment pods restart containers always; the operator "
                "reads this for standalone tasks",
            )
    if logs:
        ann[f"{names.ANN}log-configuration"] = json.dumps(logs, sort_keys=True, separators=(",", ":"))
        groups = {
            v.get("options", {}).get("awslogs-group") for v in logs.values() if v["logDriver"] == "awslogs"
        }
        groups.discard(None)
        if len(groups) == 1:
            ann[f"{names.ANN}awslogs-group"] = str(groups.pop())
    if labels:
        ann[f"{names.ANN}docker-labels"] = json.dumps(labels, sort_keys=True, separators=(",", ":"))
    if ulimits:
        ann[f"{names.ANN}ulimits"] = json.dumps(ulimits, sort_keys=True, separators=(",", ":"))
    if restart:
        ann[f"{names.ANN}restart-policy"] = json.dumps(restart, sort_keys=True, separators=(",", ":"))
    return ann


_LOG_NOTES = {
    "awslogs": "awslogs: stdout/stderr is shipped by the cluster's Fluent Bit "
    "(aws-for-fluent-bit / Container Insights); group/stream/region kept in annotations "
    "ecs.ecsk.io/log-configuration and awslogs-group",
    "awsfirelens": "awsfirelens: the FireLens router runs as a native sidecar; "
    "application logs are read from the node's container log files by Fluent Bit, options kept in "
    "ecs.ecsk.io/log-configuration",
    "json-file": "json-file is what the kubelet/container runtime already writes (kubectl logs)",
}

_ANN_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def _annotation_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (
        len(prefix) > 253 or names.dns_subdomain("x", tuple(prefix.split(".")), prefix) != "x." + prefix
    ):
        return False
    if prefix.endswith("kubernetes.io") or prefix.endswith("k8s.io") or prefix.startswith(names.GROUP):
        return False
    return len(name) <= 63 and bool(_ANN_NAME.match(name))
