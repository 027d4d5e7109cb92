"""Per-container and pod-wide fields of a task definition."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers_translate import container, explanation, objects, pod_spec, render, td, template_meta

from ecsk.core.models import TaskDefinition
from ecsk.core.translate import PlacementInputs
from ecsk.core.translate.containers import rewrite_image


def one(**fields: object) -> TaskDefinition:
    return td([{"name": "app", "image": "nginx:1.25", "memory": 128, **fields}])


def test_image_kept_and_rewritten_longest_prefix_first() -> None:
    ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    rules = {ecr: "localhost:5001", f"{ecr}/team": "registry.local/team"}
    assert rewrite_image(f"{ecr}/web:1", rules) == "localhost:5001/web:1"
    assert rewrite_image(f"{ecr}/team/api:2", rules) == "registry.local/team/api:2"
    assert rewrite_image("nginx:1.25", rules) == "nginx:1.25"
    r = render(td([{"name": "a", "image": f"{ecr}/web:1", "memory": 64}]), image_rewrite=rules)
    assert container(r, "a")["image"] == "localhost:5001/web:1"


def test_entrypoint_is_command_and_command_is_args() -> None:
    c = container(
        render(one(entryPoint=["/docker-entrypoint.sh"], command=["nginx", "-g", "daemon off;"])), "app"
    )
    assert c["command"] == ["/docker-entrypoint.sh"]
    assert c["args"] == ["nginx", "-g", "daemon off;"]


def test_environment_secrets_and_files() -> None:
    r = render(
        one(
            environment=[{"name": "A", "value": "1"}, {"name": "EMPTY"}],
            secrets=[
                {"name": "P", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/password"},
                {"name": "Q", "valueFrom": "/prod/db/user"},
                {"name": "R", "valueFrom": "plain-name"},
                {
                    "name": "S",
                    "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:prod/api-AbCdEf:token::",
                },
                {
                    "name": "T",
                    "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:whole-AbCdEf",
                },
            ],
            environmentFiles=[{"value": "arn:aws:s3:::cfg-bucket/app/prod.env", "type": "s3"}],
        )
    )
    c = container(r, "app")
    env = {e["name"]: e for e in c["env"]}
    assert env["A"] == {"name": "A", "value": "1"}
    assert env["EMPTY"] == {"name": "EMPTY", "value": ""}
    refs = {k: v["valueFrom"]["secretKeyRef"] for k, v in env.items() if "valueFrom" in v}
    assert refs["P"] == {"name": "ssm.prod.db.password", "key": "value"}
    assert refs["Q"] == {"name": "ssm.prod.db.user", "key": "value"}
    assert refs["R"] == {"name": "ssm.plain-name", "key": "value"}
    # the Secret the AWS endpoint stores `prod/api` in (ARN suffix dropped), json-key -> json.<key>
    assert refs["S"] == {"name": "sm.prod.api", "key": "json.token"}
    assert refs["T"] == {"name": "sm.whole", "key": "value"}
    assert c["envFrom"] == [{"configMapRef": {"name": "s3.cfg-bucket.app.prod.env"}}]
    # plain env first, then secrets: env overrides envFrom just as environment overrides files
    assert [e["name"] for e in c["env"]] == ["A", "EMPTY", "P", "Q", "R", "S", "T"]


@pytest.mark.parametrize(
    ("mode", "mapping", "expected"),
    [
        ("awsvpc", {"containerPort": 80, "hostPort": 80}, {"containerPort": 80, "protocol": "TCP"}),
        (
            "bridge",
            {"containerPort": 80, "hostPort": 8080},
            {"containerPort": 80, "hostPort": 8080, "protocol": "TCP"},
        ),
        ("bridge", {"containerPort": 80, "hostPort": 0}, {"containerPort": 80, "protocol": "TCP"}),
        ("bridge", {"containerPort": 53, "protocol": "udp"}, {"containerPort": 53, "protocol": "UDP"}),
        ("host", {"containerPort": 80}, {"containerPort": 80, "protocol": "TCP"}),
    ],
)
def test_port_mappings_per_network_mode(
    mode: str, mapping: dict[str, object], expected: dict[str, object]
) -> None:
    r = render(td([{"name": "a", "image": "i", "memory": 64, "portMappings": [mapping]}], networkMode=mode))
    assert container(r, "a")["ports"] == [expected]
    assert pod_spec(r).get("hostNetwork", False) is (mode == "host")


def test_dynamic_host_port_is_explained() -> None:
    r = render(td([{"name": "a", "image": "i", "memory": 64, "portMappings": [{"containerPort": 80}]}]))
    assert "dynamic host port" in explanation(r, "containerDefinitions[0].portMappings[0].containerPort").note


def test_port_names_kept_when_valid() -> None:
    r = render(
        one(
            portMappings=[
                {"containerPort": 80, "name": "http"},
                {"containerPort": 81, "name": "web-8080-tcp-long-name"},
            ]
        )
    )
    assert container(r, "app")["ports"][0]["name"] == "http"
    assert "name" not in container(r, "app")["ports"][1]


def test_network_mode_none_denies_all_traffic() -> None:
    r = render(td(networkMode="none"))
    [policy] = objects(r, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in policy["spec"] and "egress" not in policy["spec"]


def test_security_context_fields() -> None:
    c = container(
        render(
            one(
                privileged=False,
                readonlyRootFilesystem=True,
                user="1000:2000",
                workingDirectory="/srv",
                linuxParameters={"capabilities": {"add": ["NET_ADMIN", "CAP_SYS_TIME"], "drop": ["ALL"]}},
                dockerSecurityOptions=["no-new-privileges", "apparmor:docker-default", "label:type:svirt_t"],
                interactive=True,
                pseudoTerminal=True,
            )
        ),
        "app",
    )
    assert c["workingDir"] == "/srv"
    assert c["stdin"] is True and c["tty"] is True
    assert c["securityContext"] == {
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsUser": 1000,
        "runAsGroup": 2000,
        "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"], "drop": ["ALL"]},
        "allowPrivilegeEscalation": False,
        "appArmorProfile": {"type": "Localhost", "localhostProfile": "docker-default"},
        "seLinuxOptions": {"type": "svirt_t"},
    }


def test_user_uid_only_and_names() -> None:
    assert container(render(one(user="33")), "app")["securityContext"] == {"runAsUser": 33}
    r = render(one(user="www-data"))
    assert "securityContext" not in container(r, "app")
    assert [d.code for d in r.diagnostics] == ["UserName"]


def test_linux_parameters_shm_tmpfs_init() -> None:
    r = render(
        one(
            linuxParameters={
                "sharedMemorySize": 256,
                "initProcessEnabled": True,
                "tmpfs": [{"containerPath": "/tmp", "size": 64, "mountOptions": ["noexec"]}],
            }
        )
    )
    spec = pod_spec(r)
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["shm-app"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "256Mi"}
    assert vols["tmpfs-app-0"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Mi"}
    mounts = {m["mountPath"]: m["name"] for m in container(r, "app")["volumeMounts"]}
    assert mounts == {"/dev/shm": "shm-app", "/tmp": "tmpfs-app-0"}
    assert spec["shareProcessNamespace"] is True
    assert "mountOptions" in explanation(r, "containerDefinitions[0].linuxParameters.tmpfs[0]").note


def test_ulimits_and_docker_labels_become_annotations() -> None:
    r = render(
        one(
            ulimits=[{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
            dockerLabels={
                "com.datadoghq.ad.check_names": '["nginx"]',
                "bad key!": "x",
                "kubernetes.io/x": "y",
            },
        )
    )
    ann = template_meta(r)["annotations"]
    assert json.loads(ann["ecs.ecsk.io/ulimits"]) == {
        "app": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}]
    }
    assert ann["com.datadoghq.ad.check_names"] == '["nginx"]'
    assert "bad key!" not in ann and "kubernetes.io/x" not in ann
    assert json.loads(ann["ecs.ecsk.io/docker-labels"])["app"]["bad key!"] == "x"
    assert "com.datadoghq.ad.check_names" not in template_meta(r)["labels"]


def test_log_configuration_preserved() -> None:
    logs = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/app", "awslogs-region": "us-east-1"}}
    r = render(one(logConfiguration=logs))
    ann = template_meta(r)["annotations"]
    assert json.loads(ann["ecs.ecsk.io/log-configuration"]) == {"app": logs}
    assert ann["ecs.ecsk.io/awslogs-group"] == "/ecs/app"
    assert "Fluent Bit" in explanation(r, "containerDefinitions[0].logConfiguration").note


def test_dns_hosts_links_hostname_are_pod_wide() -> None:
    t = td(
        [
            {
                "name": "a",
                "image": "i",
                "memory": 64,
                "dnsServers": ["10.0.0.2"],
                "dnsSearchDomains": ["corp"],
                "extraHosts": [{"hostname": "db", "ipAddress": "10.0.0.9"}],
                "links": ["b:cache"],
                "hostname": "web1",
            },
            {
                "name": "b",
                "image": "i",
                "memory": 64,
                "dnsServers": ["10.0.0.2", "1.1.1.1"],
                "extraHosts": [{"hostname": "db2", "ipAddress": "10.0.0.9"}],
            },
        ]
    )
    spec = pod_spec(render(t))
    assert spec["dnsPolicy"] == "None"
    assert spec["dnsConfig"] == {"nameservers": ["10.0.0.2", "1.1.1.1"], "searches": ["corp"]}
    assert spec["hostAliases"] == [
        {"ip": "10.0.0.9", "hostnames": ["db", "db2"]},
        {"ip": "127.0.0.1", "hostnames": ["b", "cache"]},
    ]
    assert spec["hostname"] == "web1"


def test_search_domains_alone_keep_cluster_dns() -> None:
    spec = pod_spec(render(one(dnsSearchDomains=["corp.example.com"])))
    assert "dnsPolicy" not in spec
    assert spec["dnsConfig"] == {"searches": ["corp.example.com"]}


def test_stop_timeout_is_the_max_over_containers() -> None:
    t = td(
        [
            {"name": "a", "image": "i", "memory": 64, "stopTimeout": 10},
            {"name": "b", "image": "i", "memory": 64, "stopTimeout": 90},
        ]
    )
    assert pod_spec(render(t))["terminationGracePeriodSeconds"] == 90
    assert pod_spec(render(td()))["terminationGracePeriodSeconds"] == 30


def test_task_role_service_account() -> None:
    r = render(td(taskRoleArn="arn:aws:iam::123456789012:role/service-role/My_App-Role"))
    [sa] = objects(r, "ServiceAccount")
    assert sa["metadata"]["name"].startswith("iam-my-app-role-")
    assert sa["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/service-role/My_App-Role"
    }
    assert pod_spec(r)["serviceAccountName"] == sa["metadata"]["name"]
    assert pod_spec(render(td()))["automountServiceAccountToken"] is False


def test_execution_role_and_repository_credentials() -> None:
    t = td(
        [
            {
                "name": "a",
                "image": "registry.example.com/a:1",
                "memory": 64,
                "repositoryCredentials": {
                    "credentialsParameter": "arn:aws:secretsmanager:us-east-1:1:secret:reg-AbCdEf"
                },
            }
        ],
        executionRoleArn="arn:aws:iam::1:role/ecsTaskExecutionRole",
    )
    r = render(t, image_pull_secrets=("kind-registry",))
    spec = pod_spec(r)
    assert spec["imagePullSecrets"][0] == {"name": "kind-registry"}
    assert spec["imagePullSecrets"][1]["name"] == "sm.reg"
    assert template_meta(r)["annotations"]["ecs.ecsk.io/execution-role-arn"].endswith("ecsTaskExecutionRole")


@pytest.mark.parametrize(
    ("platform", "selector"),
    [
        (
            {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
            {"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux"},
        ),
        ({"cpuArchitecture": "ARM64"}, {"kubernetes.io/arch": "arm64"}),
        ({"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}, {"kubernetes.io/os": "windows"}),
    ],
)
def test_runtime_platform_node_selector(platform: dict[str, str], selector: dict[str, str]) -> None:
    spec = pod_spec(render(td(runtimePlatform=platform)))
    assert spec["nodeSelector"] == selector
    assert spec.get("os", {}).get("name", "linux") == selector.get("kubernetes.io/os", "linux")


def test_pid_and_ipc_modes() -> None:
    assert pod_spec(render(td(pidMode="task")))["shareProcessNamespace"] is True
    assert pod_spec(render(td(pidMode="host")))["hostPID"] is True
    assert pod_spec(render(td(ipcMode="host")))["hostIPC"] is True
    assert "hostIPC" not in pod_spec(render(td(ipcMode="task")))


def test_system_controls_become_pod_sysctls() -> None:
    spec = pod_spec(render(one(systemControls=[{"namespace": "net.core.somaxconn", "value": "1024"}])))
    assert spec["securityContext"]["sysctls"] == [{"name": "net.core.somaxconn", "value": "1024"}]


def test_container_names_are_sanitised_and_volumes_from_follow() -> None:
    t = td(
        [
            {
                "name": "PHP_fpm",
                "image": "php",
                "memory": 64,
                "mountPoints": [{"sourceVolume": "Code", "containerPath": "/app"}],
            },
            {
                "name": "nginx",
                "image": "nginx",
                "memory": 64,
                "volumesFrom": [{"sourceContainer": "PHP_fpm", "readOnly": True}],
            },
        ],
        volumes=[{"name": "Code"}],
    )
    r = render(t)
    spec = pod_spec(r)
    names = [c["name"] for c in spec["containers"]]
    assert names == ["php-fpm", "nginx"]
    assert container(r, "nginx")["volumeMounts"] == [
        {"name": spec["volumes"][0]["name"], "mountPath": "/app", "readOnly": True}
    ]


def test_labels_and_default_container() -> None:
    r = render(td(family="web_App", revision=3))
    meta = template_meta(r)
    assert meta["labels"]["ecs.ecsk.io/family"].startswith("web_App")
    assert meta["labels"]["ecs.ecsk.io/revision"] == "3"
    assert meta["labels"]["ecs.ecsk.io/task-group"].startswith("family_web_App")
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "ecsk"
    assert meta["annotations"]["kubectl.kubernetes.io/default-container"] == "app"
    [tmpl] = objects(r, "PodTemplate")
    assert tmpl["metadata"]["name"].startswith("web-app-3")


def test_task_group_label_agrees_with_the_cql_encoder() -> None:
    from ecsk.core.cql import task_group_label_value

    meta = template_meta(render(td(family="api")))
    assert meta["labels"]["ecs.ecsk.io/task-group"] == task_group_label_value("family:api")


def test_placement_hook_receives_the_pod_spec() -> None:
    seen: list[PlacementInputs] = []

    def hook(spec: dict[str, Any], inputs: PlacementInputs) -> None:
        seen.append(inputs)
        spec["affinity"] = {"nodeAffinity": {}}

    t = td(
        placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.instance-type == t3.small"}]
    )
    r = render(t, placement_hook=hook)
    assert pod_spec(r)["affinity"] == {"nodeAffinity": {}}
    assert seen[0].task_group == "family:app"
    assert (seen[0].placement_constraints or [{}])[0]["expression"].startswith("attribute:")


def test_net_sysctls_are_dropped_on_host_network() -> None:
    t = td(
        [
            {
                "name": "a",
                "image": "i",
                "memory": 64,
                "systemControls": [
                    {"namespace": "net.core.somaxconn", "value": "1024"},
                    {"namespace": "kernel.shmmax", "value": "1"},
                ],
            }
        ],
        networkMode="host",
    )
    r = render(t)
    assert pod_spec(r)["securityContext"]["sysctls"] == [{"name": "kernel.shmmax", "value": "1"}]
    assert [d.code for d in r.diagnostics] == ["Sysctl"]
