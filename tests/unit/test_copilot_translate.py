"""Copilot manifests -> ecsk custom resources: what each type becomes, the ECS / Application
Auto Scaling / App Runner rules applied before anything is deployed, with the manifest field
named. Manifests are Copilot's documentation samples (tests/fixtures/copilot/README.md) or
small variations of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ecsk.core.apprunner import rules as apprunner_rules
from ecsk.core.copilot import Environment, ManifestError, Rendering, load, render
from ecsk.core.copilot.names import LABEL_APP, LABEL_ENV, LABEL_SVC
from ecsk.core.models.load import parse_scheduled_task, parse_service, parse_task_definition
from ecsk.core.validation import validate_service

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "copilot"
ENV = Environment("demo", "test", "demo-test")


def rendered(text: str, env: Environment = ENV, **kw: Any) -> Rendering:
    return render(load(text, env.app, env.env, {}), env, **kw)


def doc(name: str, env: Environment = ENV, **kw: Any) -> Rendering:
    return rendered((FIXTURES / name).read_text(), env, **kw)


def spec(r: Rendering, kind: str, index: int = 0) -> dict[str, Any]:
    return r.of_kind(kind)[index]["spec"]


def refused(text: str) -> list[str]:
    with pytest.raises(ManifestError) as exc:
        rendered(text)
    return [str(i) for i in exc.value.issues]


BASE = "name: web\ntype: Load Balanced Web Service\nimage: {location: 'nginx:1.27', port: 80}\n"


# --- Load Balanced Web Service ------------------------------------------------------------------


def test_lbws_autoscaling_sample_becomes_service_target_and_policies() -> None:
    r = doc("lbws-autoscaling.yml")
    assert [o["kind"] for o in r.objects] == [
        "TaskDefinition",
        "ECSService",
        "ScalableTarget",
        "ScalingPolicy",
        "ScalingPolicy",
        "ScalingPolicy",
    ]
    td = spec(r, "TaskDefinition")
    assert td["family"] == "demo-test-frontend"
    assert (td["cpu"], td["memory"], td["requiresCompatibilities"]) == ("512", "1024", ["FARGATE"])
    c = td["containerDefinitions"][0]
    assert c["image"] == "aws_account_id.dkr.ecr.us-west-2.amazonaws.com/frontend:latest"
    assert c["portMappings"] == [{"containerPort": 80, "protocol": "tcp", "name": "target"}]
    assert c["logConfiguration"]["options"]["awslogs-group"] == "/copilot/demo-test-frontend"
    svc = spec(r, "ECSService")
    assert svc["cluster"] == "demo-test" and svc["launchType"] == "FARGATE"
    assert svc["desiredCount"] == 1  # the range's minimum on a first deploy
    assert svc["loadBalancers"][0]["containerPort"] == 80
    assert ":targetgroup/" in svc["loadBalancers"][0]["targetGroupArn"]
    assert svc["healthCheckGracePeriodSeconds"] == 60
    assert svc["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    target = spec(r, "ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 10)
    assert target["ResourceId"] == "service/demo-test/frontend"
    cpu, requests, response = (spec(r, "ScalingPolicy", i) for i in range(3))
    tt = cpu["TargetTrackingScalingPolicyConfiguration"]
    assert tt["PredefinedMetricSpecification"] == {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}
    assert (tt["TargetValue"], tt["ScaleInCooldown"], tt["ScaleOutCooldown"]) == (70, 60, 30)
    rq = requests["TargetTrackingScalingPolicyConfiguration"]
    assert rq["CustomizedMetricSpecification"]["MetricName"] == "RequestCountPerTarget"
    assert rq["TargetValue"] == 30
    rt = response["TargetTrackingScalingPolicyConfiguration"]
    assert rt["CustomizedMetricSpecification"]["MetricName"] == "TargetResponseTime"
    assert rt["TargetValue"] == 2.0
    assert r.build is None


def test_every_object_carries_the_app_env_service_labels() -> None:
    for o in doc("lbws-autoscaling.yml").objects:
        labels = o["metadata"]["labels"]
        assert (labels[LABEL_APP], labels[LABEL_ENV], labels[LABEL_SVC]) == ("demo", "test", "frontend")
        assert o["metadata"]["namespace"] == "demo-test"


def test_rendered_service_passes_ecs_service_rules() -> None:
    r = doc("lbws-basic.yml")
    svc = parse_service(spec(r, "ECSService"))
    td = parse_task_definition(spec(r, "TaskDefinition"))
    assert [i for i in validate_service(svc, td) if i.is_error] == []


def test_basic_sample_variables_secrets_exec_and_build() -> None:
    r = doc("lbws-basic.yml")
    c = spec(r, "TaskDefinition")["containerDefinitions"][0]
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert env["LOG_LEVEL"] == "info"
    assert env["COPILOT_APPLICATION_NAME"] == "demo" and env["COPILOT_ENVIRONMENT_NAME"] == "test"
    assert env["COPILOT_SERVICE_DISCOVERY_ENDPOINT"] == "test.demo.local"
    secrets = {s["name"]: s["valueFrom"] for s in c["secrets"]}
    assert secrets["GITHUB_TOKEN"] == "GITHUB_TOKEN"  # an SSM parameter name, as ECS takes it
    assert secrets["DB_SECRET"] == "arn:aws:secretsmanager:us-east-1:000000000000:secret:mysql"
    assert spec(r, "ECSService")["enableExecuteCommand"] is True
    assert spec(r, "ECSService")["desiredCount"] == 3
    assert r.build is not None
    assert (r.build.dockerfile, r.build.context) == ("./frontend/Dockerfile", "./frontend")
    # until pushed, the image is the environment's repository for the service
    assert c["image"] == "000000000000.dkr.ecr.us-east-1.amazonaws.com/demo/frontend:latest"
    pushed = doc("lbws-basic.yml", image="000000000000.dkr.ecr.us-east-1.amazonaws.com/demo/frontend:v2")
    assert spec(pushed, "TaskDefinition")["containerDefinitions"][0]["image"].endswith(":v2")


def test_larger_containers_sample() -> None:
    r = doc("lbws-larger-containers.yml")
    td = spec(r, "TaskDefinition")
    assert td["ephemeralStorage"] == {"sizeInGiB": 100}
    assert (td["cpu"], td["memory"]) == ("2048", "4096")
    svc = spec(r, "ECSService")
    assert svc["healthCheckGracePeriodSeconds"] == 120
    assert svc["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    assert r.build is not None and (r.build.dockerfile, r.build.context) == (
        "./frontend/Dockerfile",
        "./frontend",
    )


def test_a_running_count_is_kept_within_the_range() -> None:
    assert spec(doc("lbws-autoscaling.yml", running_count=4), "ECSService")["desiredCount"] == 4
    assert spec(doc("lbws-autoscaling.yml", running_count=40), "ECSService")["desiredCount"] == 10
    assert spec(doc("lbws-autoscaling.yml", running_count=0), "ECSService")["desiredCount"] == 1


def test_spot_count_and_spot_from() -> None:
    spot = spec(rendered(BASE + "count: {spot: 5}\n"), "ECSService")
    assert "launchType" not in spot
    assert spot["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    assert spot["desiredCount"] == 5
    ranged = spec(
        rendered(BASE + "count: {range: {min: 1, max: 10, spot_from: 3}, cpu_percentage: 70}\n"), "ECSService"
    )
    assert ranged["capacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE", "base": 2, "weight": 0},
        {"capacityProvider": "FARGATE_SPOT", "weight": 1},
    ]


@pytest.mark.parametrize(
    ("count", "message"),
    [
        ("{range: 10-1, cpu_percentage: 50}", "count.range: min value 10 cannot be greater than max value 1"),
        (
            "{range: 1-10}",
            'count: must specify at least one of "cpu_percentage", "memory_percentage", "requests" or '
            '"response_time" if "range" is specified',
        ),
        (
            "{cpu_percentage: 50}",
            'count: validate "count": "range" must be specified if "cpu_percentage" is specified',
        ),
        (
            "{range: 1-10, cpu_percentage: 150}",
            "count.cpu_percentage: percentage value 150 must be an integer from 0 to 100",
        ),
        (
            "{spot: 2, range: 1-3, cpu_percentage: 50}",
            'count: validate "count": must specify one, not both, of "spot" and '
            '"range/cpu_percentage/memory_percentage/requests/response_time"',
        ),
        ("three", 'count: unable to unmarshal "count" field to an integer or autoscaling configuration'),
    ],
)
def test_count_refusals(count: str, message: str) -> None:
    assert message in refused(BASE + f"count: {count}\n")


def test_fargate_cpu_memory_combination_is_refused_with_ecs_wording() -> None:
    assert refused(BASE + "cpu: 256\nmemory: 4096\n") == ["cpu: Invalid 'cpu' setting for task"]


def test_recreate_deployment_and_invalid_rolling() -> None:
    svc = spec(rendered(BASE + "deployment: {rolling: recreate}\n"), "ECSService")
    assert (
        svc["deploymentConfiguration"]["minimumHealthyPercent"],
        svc["deploymentConfiguration"]["maximumPercent"],
    ) == (0, 100)
    assert refused(BASE + "deployment: {rolling: canary}\n") == [
        'deployment.rolling: validate "rolling": invalid rolling deployment strategy "canary", '
        "must be one of default or recreate"
    ]


def test_placement_security_groups_and_refusal() -> None:
    svc = spec(
        rendered(BASE + "network: {vpc: {placement: private, security_groups: [sg-0001]}}\n"), "ECSService"
    )
    vpc = svc["networkConfiguration"]["awsvpcConfiguration"]
    assert vpc["assignPublicIp"] == "DISABLED"
    assert vpc["securityGroups"] == [ENV.security_group, "sg-0001"]
    assert vpc["subnets"] == ENV.subnets("private")
    deny = spec(
        rendered(BASE + "network: {vpc: {security_groups: {deny_default: true, groups: [sg-9]}}}\n"),
        "ECSService",
    )
    assert deny["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"] == ["sg-9"]
    assert refused(BASE + "network: {vpc: {placement: dmz}}\n") == [
        'network.vpc.placement: validate "placement": "placement" dmz must be one of public, private'
    ]


def test_http_false_without_nlb_is_refused() -> None:
    assert refused(BASE + "http: false\n") == ['http: must specify at least one of "http" or "nlb"']


def test_requests_scaling_needs_the_load_balancer() -> None:
    text = (
        "name: api\ntype: Backend Service\nimage: {location: nginx, port: 80}\n"
        "count: {range: 1-3, requests: 10}\n"
    )
    assert refused(text) == [
        'count.requests: scaling on "requests" needs the service\'s load balancer ("http")'
    ]


def test_image_build_and_location_together_or_neither() -> None:
    both = "name: web\ntype: Backend Service\nimage: {build: Dockerfile, location: nginx}\n"
    assert refused(both) == ['image: must specify one, not both, of "build" and "location"']
    assert refused("name: web\ntype: Backend Service\nimage: {port: 80}\n") == [
        'image: must specify one of "build" and "location"'
    ]


def test_platform_arm_and_windows() -> None:
    arm = spec(rendered(BASE + "platform: linux/arm64\n"), "TaskDefinition")
    assert arm["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"}
    win = spec(rendered(BASE + "platform: windows/x86_64\n"), "TaskDefinition")
    assert win["runtimePlatform"]["operatingSystemFamily"] == "WINDOWS_SERVER_2019_CORE"
    assert (win["cpu"], win["memory"]) == ("1024", "2048")  # Copilot's Windows minimum
    assert (
        "count: validate ARM: 'Fargate Spot' is not supported"
        in refused(BASE + "platform: linux/arm64\ncount: {spot: 1}\n")[0]
    )


def test_container_health_check_entrypoint_command_storage() -> None:
    text = (
        BASE
        + "image:\n  location: nginx\n  port: 80\n  healthcheck:\n    command: ['CMD-SHELL', 'curl -f http://localhost/']\n"
        + "    interval: 15s\n    start_period: 30s\n"
        + "entrypoint: /bin/entry --p1\ncommand: [serve, --port, '80']\n"
        + "storage:\n  readonly_fs: true\n  volumes:\n    data:\n      path: /data\n      read_only: false\n"
        + "      efs: {id: fs-12345678, auth: {iam: true, access_point_id: fsap-1234}}\n"
        + "    scratch: {path: /scratch}\n"
    )
    td = spec(rendered(text), "TaskDefinition")
    c = td["containerDefinitions"][0]
    assert c["healthCheck"] == {
        "command": ["CMD-SHELL", "curl -f http://localhost/"],
        "interval": 15,
        "retries": 2,
        "timeout": 5,
        "startPeriod": 30,
    }
    assert c["entryPoint"] == ["/bin/entry", "--p1"] and c["command"] == ["serve", "--port", "80"]
    assert c["readonlyRootFilesystem"] is True
    assert c["mountPoints"] == [
        {"sourceVolume": "data", "containerPath": "/data", "readOnly": False},
        {"sourceVolume": "scratch", "containerPath": "/scratch", "readOnly": True},
    ]
    assert td["volumes"][0]["efsVolumeConfiguration"] == {
        "fileSystemId": "fs-12345678",
        "transitEncryption": "ENABLED",
        "authorizationConfig": {"iam": "ENABLED", "accessPointId": "fsap-1234"},
    }
    assert td["volumes"][1] == {"name": "scratch"}


def test_storage_refusals() -> None:
    assert refused(BASE + "storage: {ephemeral: 10}\n") == [
        'storage.ephemeral: validate "ephemeral": ephemeral storage must be between 20 GiB and 200 GiB'
    ]
    ap = (
        "storage: {volumes: {d: {path: /d, efs: {id: fs-1, root_dir: /x, "
        "auth: {access_point_id: fsap-1}}}}}\n"
    )
    assert (
        'must be either empty or "/" and "auth.iam" must be true when "access_point_id" is used'
        in refused(BASE + ap)[0]
    )


def test_managed_efs_is_named_and_mounted_as_task_storage() -> None:
    r = doc("lbws-shared-file-system.yml")
    assert spec(r, "TaskDefinition")["volumes"] == [{"name": "wp"}]
    warned = [w for w in r.warnings if w.path == "storage.volumes.wp.efs"]
    assert warned and "Copilot-managed EFS" in warned[0].message


def test_taskdef_overrides_from_copilots_docs() -> None:
    text = BASE + (
        "taskdef_overrides:\n"
        "  - path: ContainerDefinitions[0].Ulimits[-]\n"
        "    value: {Name: cpu, SoftLimit: 1024, HardLimit: 2048}\n"
        "  - path: ContainerDefinitions[0].PortMappings[-].ContainerPort\n"
        "    value: 2056\n"
        "  - path: ContainerDefinitions[0].PortMappings[1].Protocol\n"
        "    value: udp\n"
        "  - path: ContainerDefinitions[0].DockerLabels\n"
        "    value: {Team: web}\n"
    )
    c = spec(rendered(text), "TaskDefinition")["containerDefinitions"][0]
    assert c["ulimits"] == [{"name": "cpu", "softLimit": 1024, "hardLimit": 2048}]
    assert c["portMappings"][1] == {"containerPort": 2056, "protocol": "udp"}
    assert c["dockerLabels"] == {"Team": "web"}  # user keys are not re-cased


def test_taskdef_override_refusals() -> None:
    assert refused(BASE + "taskdef_overrides: [{path: Family, value: x}]\n") == [
        'taskdef_overrides[0]: "Family" cannot be overridden with a custom value'
    ]
    bad = refused(BASE + "taskdef_overrides: [{path: 'ContainerDefinitions[3].Cpu', value: 1}]\n")
    assert bad == [
        "taskdef_overrides[0]: apply task definition override: "
        'cannot set "ContainerDefinitions[3].Cpu": index 3 out of bounds for a list of 1'
    ]
    # a value ECS refuses is caught by the task definition's own rules
    assert any(
        "networkMode" in p
        for p in refused(BASE + "taskdef_overrides: [{path: NetworkMode, value: bridge}]\n")
    )


# --- Backend Service ----------------------------------------------------------------------------


def test_backend_service_discovery_and_service_connect() -> None:
    r = doc("backend-internal.yml")
    svc = spec(r, "ECSService")
    assert "loadBalancers" not in svc
    assert svc["serviceRegistries"] == [{"registryArn": ENV.registry_arn("api"), "port": 8080}]
    assert svc["serviceConnectConfiguration"] == {
        "enabled": True,
        "namespace": "test.demo.local",
        "services": [
            {
                "portName": "target",
                "discoveryName": "api",
                "clientAliases": [{"port": 8080, "dnsName": "api"}],
            }
        ],
    }
    assert (
        svc["desiredCount"] == 1 and svc["deploymentConfiguration"]["minimumHealthyPercent"] == 0
    )  # test override
    hc = spec(r, "TaskDefinition")["containerDefinitions"][0]["healthCheck"]
    assert hc == {
        "command": ["CMD-SHELL", "curl -f http://localhost:8080 || exit 1"],
        "interval": 10,
        "retries": 2,
        "timeout": 5,
        "startPeriod": 0,
    }
    prod = spec(doc("backend-internal.yml", Environment("demo", "prod", "demo-prod")), "ECSService")
    assert prod["desiredCount"] == 2 and prod["deploymentConfiguration"]["minimumHealthyPercent"] == 100


def test_backend_with_http_gets_the_internal_load_balancer_and_scaling() -> None:
    r = doc("backend-internal-alb.yml")
    svc = spec(r, "ECSService")
    assert svc["loadBalancers"][0]["containerPort"] == 8080
    assert svc["healthCheckGracePeriodSeconds"] == 30
    metric = spec(r, "ScalingPolicy", 1)["TargetTrackingScalingPolicyConfiguration"][
        "CustomizedMetricSpecification"
    ]
    assert metric["Dimensions"][0]["Value"].startswith("app/demo-test-internal/")
    secrets = {
        s["name"]: s["valueFrom"] for s in spec(r, "TaskDefinition")["containerDefinitions"][0]["secrets"]
    }
    assert secrets["DB_PASSWORD"] == "arn:aws:secretsmanager:us-east-1:000000000000:secret:mysql:password::"


def test_connect_alias_without_a_port_is_refused() -> None:
    text = "name: api\ntype: Backend Service\nimage: {location: nginx}\nnetwork: {connect: {alias: db}}\n"
    assert refused(text) == [
        'network.connect.alias: cannot set "network.connect.alias" when no ports are exposed'
    ]


# --- Scheduled Job ------------------------------------------------------------------------------


def test_scheduled_job_sample() -> None:
    r = doc("scheduled-job.yml")
    st = spec(r, "ScheduledTask")
    assert st["scheduleExpression"] == "cron(0 0 * * ? *)" and st["state"] == "ENABLED"
    assert st["ecsParameters"]["taskDefinition"] == "demo-test-report-generator"
    assert st["ecsParameters"]["launchType"] == "FARGATE"
    parse_scheduled_task(st)  # the ScheduledTask model accepts it
    prod = spec(doc("scheduled-job.yml", Environment("demo", "prod", "demo-prod")), "TaskDefinition")
    assert (prod["cpu"], prod["memory"]) == ("2048", "4096")


def test_disabled_job_and_schedule_refusal() -> None:
    job = "name: job\ntype: Scheduled Job\nimage: {location: busybox}\n"
    st = spec(rendered(job + "on: {schedule: none}\n"), "ScheduledTask")
    assert (st["scheduleExpression"], st["state"]) == ("rate(5 minutes)", "DISABLED")
    assert refused(job + "on: {schedule: '@every 30s'}\n") == [
        "on.schedule: parse fixed interval: duration must be a whole number of minutes or hours"
    ]
    assert refused(job) == ['on.schedule: "schedule" must be specified']


# --- Request-Driven Web Service -----------------------------------------------------------------


def test_rdws_public_sample_becomes_an_app_runner_service() -> None:
    r = doc("rdws-public.yml")
    assert [o["kind"] for o in r.objects] == ["AppRunnerService"]
    s = spec(r, "AppRunnerService")
    assert s["ServiceName"] == "demo-test-frontend"
    repo = s["SourceConfiguration"]["ImageRepository"]
    assert repo["ImageRepositoryType"] == "ECR"
    cfg = repo["ImageConfiguration"]
    assert cfg["Port"] == "80"
    assert cfg["RuntimeEnvironmentVariables"]["LOG_LEVEL"] == "debug"  # the sample's `test` override
    assert cfg["RuntimeEnvironmentSecrets"] == {
        "GITHUB_TOKEN": "arn:aws:ssm:us-east-1:000000000000:parameter/GITHUB_TOKEN",
        "DB_SECRET": "arn:aws:secretsmanager:us-east-1:000000000000:secret:mysql",
    }
    assert s["InstanceConfiguration"] == {"Cpu": "1024", "Memory": "2048"}
    assert s["HealthCheckConfiguration"] == {"Protocol": "HTTP", "Path": "/_healthcheck"}
    assert {"Key": "owner", "Value": "frontend"} in s["Tags"]
    assert s["SourceConfiguration"]["AutoDeploymentsEnabled"] is False
    spec_model, issues = apprunner_rules.check(s)
    assert spec_model is not None and [i for i in issues if i.is_error] == []
    prod = spec(doc("rdws-public.yml", Environment("demo", "prod", "demo-prod")), "AppRunnerService")
    assert prod["SourceConfiguration"]["ImageRepository"]["ImageConfiguration"][
        "RuntimeEnvironmentVariables"
    ] == {
        "COPILOT_APPLICATION_NAME": "demo",
        "COPILOT_ENVIRONMENT_NAME": "prod",
        "COPILOT_SERVICE_NAME": "frontend",
        "LOG_LEVEL": "info",
    }


def test_rdws_refusals_use_app_runners_words() -> None:
    text = (
        "name: web\ntype: Request-Driven Web Service\n"
        "image: {location: public.ecr.aws/nginx/nginx:1.27, port: 80}\n"
    )
    s = spec(rendered(text), "AppRunnerService")
    assert s["SourceConfiguration"]["ImageRepository"]["ImageRepositoryType"] == "ECR_PUBLIC"
    bad = refused(text + "cpu: 256\nmemory: 4096\n")
    assert bad[0].startswith(
        "cpu/memory: Cpu '256' and Memory '4096' is not a supported instance configuration."
    )
    assert refused(text + "platform: windows/x86_64\n") == [
        "platform: Windows is not supported for App Runner services"
    ]
    hc = refused(text + "http: {healthcheck: {path: /, interval: 30s}}\n")
    assert hc == [
        "http.healthcheck.interval: Value '30' at 'healthCheckConfiguration.interval' failed to satisfy "
        "constraint: Member must have value less than or equal to 20"
    ]


def test_rdws_count_names_an_auto_scaling_configuration() -> None:
    """Copilot's `count` names an existing App Runner auto scaling configuration (`name` or
    `name/revision`): the service's AutoScalingConfigurationArn in the environment's account."""
    text = (
        "name: web\ntype: Request-Driven Web Service\n"
        "image: {location: public.ecr.aws/nginx/nginx:1.27, port: 80}\n"
    )
    s = spec(rendered(text + "count: high-availability/3\n"), "AppRunnerService")
    assert s["AutoScalingConfigurationArn"] == (
        "arn:aws:apprunner:us-east-1:000000000000:autoscalingconfiguration/high-availability/3"
    )
    assert "AutoScalingConfiguration" not in s
    assert "AutoScalingConfigurationArn" not in spec(rendered(text), "AppRunnerService")
    bad = refused(text + "count: bad name\n")
    assert bad == [
        "count: The auto scaling configuration ARN you specified isn't valid. ARN: "
        "'arn:aws:apprunner:us-east-1:000000000000:autoscalingconfiguration/bad name'"
    ]


# --- an EC2 environment (ecsk's option for kind's real workers) ----------------------------------

EC2 = Environment("demo", "test", "demo-test", launch_type="EC2")


def test_an_ec2_environment_runs_the_same_manifest_on_ec2() -> None:
    r = doc("lbws-autoscaling.yml", EC2)
    assert spec(r, "TaskDefinition")["requiresCompatibilities"] == ["EC2"]
    svc = spec(r, "ECSService")
    assert svc["launchType"] == "EC2" and "platformVersion" not in svc
    job = spec(doc("scheduled-job.yml", EC2), "ScheduledTask")["ecsParameters"]
    assert job["launchType"] == "EC2" and "platformVersion" not in job
    # Fargate's size table does not bind EC2 tasks
    sized = spec(rendered(BASE + "cpu: 256\nmemory: 4096\n", EC2), "TaskDefinition")
    assert (sized["cpu"], sized["memory"]) == ("256", "4096")
    with pytest.raises(ManifestError) as exc:
        rendered(BASE + "count: {spot: 2}\n", EC2)
    assert [str(i) for i in exc.value.issues] == [
        "count: Fargate Spot needs Fargate: environment test runs tasks on EC2"
    ]
