"""Service -> workload: rollout arithmetic, blocked deployments, circuit breaker, load balancers,
service discovery, Service Connect, security groups, labels."""

from __future__ import annotations

import json
import math

import pytest
from helpers_translate import objects, pod_spec, render_svc, svc, td

from ecsk.core.models import HealthCheck, TaskDefinition
from ecsk.core.translate import names
from ecsk.core.translate.service import UNABLE_TO_DEPLOY, circuit_breaker_threshold, rolling_bounds

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{}/6d0ecf831eec9f09"


def web_td(mode: str = "awsvpc", protocol: str = "tcp", **kw: object) -> TaskDefinition:
    return td(
        [
            {
                "name": "web",
                "image": "i",
                "memory": 64,
                "portMappings": [{"containerPort": 8080, "protocol": protocol}],
            }
        ],
        networkMode=mode,
        **kw,
    )


@pytest.mark.parametrize(
    ("desired", "low", "high", "surge", "unavailable"),
    [
        (4, 50, 200, 4, 2),
        (3, 50, 150, 1, 1),  # floor(4.5)=4 -> surge 1; ceil(1.5)=2 -> unavailable 1
        (3, 100, 150, 1, 0),
        (1, 50, 200, 1, 0),  # ceil(0.5)=1 healthy: nothing may go down
        (10, 90, 110, 1, 1),
        (7, 75, 125, 1, 1),  # ceil(5.25)=6, floor(8.75)=8
        (5, 0, 100, 0, 5),
        (2, 100, 100, 0, 0),  # blocked (see below)
        (0, 100, 200, 0, 0),
    ],
)
def test_rolling_bounds_use_ecs_rounding(
    desired: int, low: int, high: int, surge: int, unavailable: int
) -> None:
    assert rolling_bounds(desired, low, high) == (surge, unavailable)
    assert unavailable == desired - math.ceil(desired * low / 100)
    assert surge == max(math.floor(desired * high / 100) - desired, 0)


def test_kubernetes_would_round_a_percentage_surge_differently() -> None:
    # ECS: floor(3 * 150 / 100) = 4 tasks at most -> surge 1. A "50%" surge in Kubernetes rounds 1.5 up to 2.
    dep = objects(
        render_svc(svc(desiredCount=3, deploymentConfiguration={"maximumPercent": 150}), web_td()),
        "Deployment",
    )[0]
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert dep["spec"]["replicas"] == 3


def test_min_100_max_100_reports_the_ecs_message_and_falls_back() -> None:
    s = svc(
        serviceName="api",
        desiredCount=2,
        deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 100},
    )
    r = render_svc(s, web_td())
    dep = objects(r, "Deployment")[0]
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert dep["metadata"]["annotations"]["ecs.ecsk.io/deployment-blocked"] == "true"
    [diag] = r.diagnostics
    assert diag.code == "DeploymentBlocked"
    assert diag.message == UNABLE_TO_DEPLOY.format(name="api")
    assert diag.message.startswith("(service api) was unable to stop or start tasks during a deployment")


def test_zero_desired_is_not_blocked() -> None:
    r = render_svc(
        svc(desiredCount=0, deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 100}),
        web_td(),
    )
    assert not r.diagnostics
    assert objects(r, "Deployment")[0]["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 1


@pytest.mark.parametrize(
    ("desired", "threshold"), [(0, 3), (1, 3), (6, 3), (7, 4), (10, 5), (399, 200), (1000, 200)]
)
def test_circuit_breaker_threshold(desired: int, threshold: int) -> None:
    assert circuit_breaker_threshold(desired) == threshold


def test_circuit_breaker_and_grace_period_annotations() -> None:
    s = svc(
        desiredCount=10,
        healthCheckGracePeriodSeconds=90,
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    ann = objects(render_svc(s, web_td()), "Deployment")[0]["metadata"]["annotations"]
    assert ann["ecs.ecsk.io/circuit-breaker"] == "enable,rollback"
    assert ann["ecs.ecsk.io/circuit-breaker-threshold"] == "5"
    assert ann["ecs.ecsk.io/health-check-grace-period"] == "90"


def test_daemon_service_is_a_daemonset() -> None:
    r = render_svc(svc(schedulingStrategy="DAEMON"), web_td(mode="bridge"))
    [ds] = objects(r, "DaemonSet")
    assert not objects(r, "Deployment")
    assert ds["spec"]["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": "100%", "maxSurge": 0}
    assert "replicas" not in ds["spec"]


def test_selector_and_template_labels_are_stable_across_revisions() -> None:
    s = svc(serviceName="web", cluster="prod", desiredCount=1)
    a = objects(render_svc(s, web_td(revision=1)), "Deployment")[0]
    b = objects(render_svc(s, web_td(revision=2, cpu="256")), "Deployment")[0]
    assert a["spec"]["selector"] == b["spec"]["selector"]
    la, lb = a["spec"]["template"]["metadata"]["labels"], b["spec"]["template"]["metadata"]["labels"]
    assert {k: v for k, v in la.items() if k != "ecs.ecsk.io/revision"} == {
        k: v for k, v in lb.items() if k != "ecs.ecsk.io/revision"
    }
    assert (la["ecs.ecsk.io/revision"], lb["ecs.ecsk.io/revision"]) == ("1", "2")
    assert la["ecs.ecsk.io/service"] == "web" and la["ecs.ecsk.io/cluster"] == "prod"
    assert la["ecs.ecsk.io/task-group"].startswith("service_web")


def test_forced_deployment_token_changes_the_template_not_the_selector() -> None:
    """forceNewDeployment: the token label is a new pod template (new pods), same selector."""
    s = svc(serviceName="web", desiredCount=2)
    plain = objects(render_svc(s, web_td(revision=1)), "Deployment")[0]
    token = names.deployment_token("2026-12-04T15:00:00Z-ab12cd34")
    forced = objects(render_svc(s, web_td(revision=1), deployment_token=token), "Deployment")[0]
    assert "ecs.ecsk.io/deployment-token" not in plain["spec"]["template"]["metadata"]["labels"]
    assert forced["spec"]["template"]["metadata"]["labels"]["ecs.ecsk.io/deployment-token"] == token
    assert forced["spec"]["selector"] == plain["spec"]["selector"]
    assert forced["spec"]["template"] != plain["spec"]["template"]
    assert names.deployment_token("") == "" and names.deployment_token("a") != names.deployment_token("b")


def test_revision_taken_from_the_service_reference() -> None:
    r = render_svc(svc(taskDefinition="arn:aws:ecs:us-east-1:1:task-definition/app:12"), web_td())
    assert (
        objects(r, "Deployment")[0]["spec"]["template"]["metadata"]["labels"]["ecs.ecsk.io/revision"] == "12"
    )


def test_target_group_arn_binds_by_default() -> None:
    s = svc(
        loadBalancers=[{"targetGroupArn": TG.format("web"), "containerName": "web", "containerPort": 8080}]
    )
    r = render_svc(s, web_td())
    [service] = objects(r, "Service")
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert service["spec"]["ports"] == [
        {"name": "tcp-8080", "port": 8080, "targetPort": 8080, "protocol": "TCP"}
    ]
    [tgb] = objects(r, "TargetGroupBinding")
    assert tgb["apiVersion"] == "elbv2.k8s.aws/v1beta1"
    assert tgb["spec"] == {
        "serviceRef": {"name": "web", "port": 8080},
        "targetGroupARN": TG.format("web"),
        "targetType": "ip",
    }
    assert not objects(r, "Ingress")


def test_create_mode_renders_an_alb_ingress() -> None:
    s = svc(
        loadBalancers=[{"targetGroupArn": TG.format("web"), "containerName": "web", "containerPort": 8080}]
    )
    r = render_svc(s, web_td(mode="bridge"), load_balancers="create")
    [ing] = objects(r, "Ingress")
    assert ing["spec"]["ingressClassName"] == "alb"
    assert ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"] == "instance"
    assert objects(r, "Service")[0]["spec"]["type"] == "NodePort"
    assert not objects(r, "TargetGroupBinding")


def test_nlb_for_udp_or_nlb_named_target_groups() -> None:
    s = svc(
        loadBalancers=[{"targetGroupArn": TG.format("dns"), "containerName": "web", "containerPort": 8080}]
    )
    r = render_svc(s, web_td(protocol="udp"), load_balancers="create")
    nlb = next(o for o in objects(r, "Service") if o["metadata"]["name"] == "web-nlb")
    assert nlb["spec"]["type"] == "LoadBalancer"
    ann = nlb["metadata"]["annotations"]
    assert ann["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    assert ann["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"


def test_explicit_load_balancer_type_wins() -> None:
    s = svc(
        loadBalancers=[{"targetGroupArn": TG.format("web"), "containerName": "web", "containerPort": 8080}]
    )
    r = render_svc(s, web_td(), load_balancers="create", load_balancer_types={"web": "nlb"})
    assert [o["metadata"]["name"] for o in objects(r, "Service")] == ["web", "web-nlb"]


def test_classic_elb_by_name() -> None:
    s = svc(loadBalancers=[{"loadBalancerName": "legacy-elb", "containerName": "web", "containerPort": 8080}])
    r = render_svc(s, web_td(mode="bridge"))
    elb = next(o for o in objects(r, "Service") if o["metadata"]["name"] == "web-elb")
    assert elb["spec"]["type"] == "LoadBalancer" and "annotations" not in elb["metadata"]


def test_missing_container_port_uses_the_ecs_message() -> None:
    s = svc(
        loadBalancers=[{"targetGroupArn": TG.format("web"), "containerName": "web", "containerPort": 9999}]
    )
    [err] = render_svc(s, web_td()).errors
    assert err.message == "The container web did not have a container port 9999 defined."


def test_service_registry_is_a_headless_service() -> None:
    s = svc(
        serviceRegistries=[
            {"registryArn": "arn:aws:servicediscovery:us-east-1:1:service/srv-1", "port": 8080}
        ]
    )
    [sd] = objects(render_svc(s, web_td()), "Service")
    assert sd["metadata"]["name"] == "web-sd"
    assert sd["spec"]["clusterIP"] == "None"
    assert sd["spec"]["ports"] == [{"name": "srv-8080", "port": 8080, "targetPort": 8080, "protocol": "TCP"}]


def test_service_connect_publishes_the_discovery_name() -> None:
    t = td(
        [
            {
                "name": "web",
                "image": "i",
                "memory": 64,
                "portMappings": [{"containerPort": 8080, "name": "http"}],
            }
        ]
    )
    s = svc(
        serviceConnectConfiguration={
            "enabled": True,
            "services": [{"portName": "http", "discoveryName": "greeter", "clientAliases": [{"port": 80}]}],
        }
    )
    [sc] = objects(render_svc(s, t), "Service")
    assert sc["metadata"]["name"] == "greeter"
    assert sc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]


def test_security_groups_become_labels_and_a_network_policy() -> None:
    s = svc(
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-0abc"]}
        },
        loadBalancers=[{"targetGroupArn": TG.format("web"), "containerName": "web", "containerPort": 8080}],
    )
    r = render_svc(s, web_td())
    labels = objects(r, "Deployment")[0]["spec"]["template"]["metadata"]["labels"]
    assert labels["sg.ecs.ecsk.io/sg-0abc"] == "true"
    [np] = objects(r, "NetworkPolicy")
    assert np["spec"]["policyTypes"] == ["Ingress"]
    assert np["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == {
        "sg.ecs.ecsk.io/sg-0abc": "true"
    }
    assert np["spec"]["ingress"][1]["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert not objects(render_svc(s, web_td(), network_policies=False), "NetworkPolicy")


def test_tags_and_propagation() -> None:
    s = svc(
        tags=[{"key": "team", "value": "payments"}, {"key": "aws:cloudformation:stack-name", "value": "x"}],
        propagateTags="SERVICE",
    )
    dep = objects(render_svc(s, web_td()), "Deployment")[0]
    assert dep["metadata"]["labels"]["tags.ecs.ecsk.io/team"] == "payments"
    assert not any("cloudformation" in k for k in dep["metadata"]["labels"])
    assert dep["spec"]["template"]["metadata"]["labels"]["tags.ecs.ecsk.io/team"] == "payments"


def test_placement_inputs_reach_the_hook_and_annotations() -> None:
    got = []
    s = svc(
        placementStrategy=[{"type": "spread", "field": "attribute:ecs.availability-zone"}],
        placementConstraints=[{"type": "distinctInstance"}],
        launchType="EC2",
    )
    r = render_svc(s, web_td(), placement_hook=lambda spec, inputs: got.append(inputs))
    [inputs] = got
    assert inputs.task_group == "service:web" and inputs.launch_type == "EC2"
    assert inputs.placement_strategy == [{"type": "spread", "field": "attribute:ecs.availability-zone"}]
    ann = objects(r, "Deployment")[0]["metadata"]["annotations"]
    assert ann["ecs.ecsk.io/launch-type"] == "EC2"
    assert "distinctInstance" in ann["ecs.ecsk.io/placement-constraints"]
    assert pod_spec(r)["containers"][0]["name"] == "web"


def test_objects_are_sorted_and_namespaced() -> None:
    s = svc(
        loadBalancers=[{"targetGroupArn": TG.format("web"), "containerName": "web", "containerPort": 8080}]
    )
    r = render_svc(s, web_td(taskRoleArn="arn:aws:iam::1:role/web"), namespace="team-a")
    kinds = [o["kind"] for o in r.objects]
    assert kinds == ["ServiceAccount", "Deployment", "Service", "TargetGroupBinding"]
    assert {o["metadata"]["namespace"] for o in r.objects} == {"team-a"}


def test_task_definition_tags_propagate_as_annotation_only() -> None:
    t = td(tags=[{"key": "release", "value": "2026.03"}])
    s = svc(propagateTags="TASK_DEFINITION")
    tmpl = objects(render_svc(s, t), "Deployment")[0]["spec"]["template"]["metadata"]
    assert not any(k.startswith("tags.") for k in tmpl["labels"])
    assert json.loads(tmpl["annotations"]["ecs.ecsk.io/tags"]) == {"release": "2026.03"}


def _lb_service(**kw: object) -> object:
    return svc(
        loadBalancers=[{"targetGroupArn": TG.format("web"), "containerName": "web", "containerPort": 8080}],
        **kw,
    )


def test_a_target_is_registered_when_ready_and_drains_before_sigterm() -> None:
    """ECS: a task joins the target group once its target passes the health check, and on stop
    is deregistered, drains for the deregistration delay, then gets SIGTERM and stopTimeout."""
    spec = pod_spec(render_svc(_lb_service(), web_td(), deregistration_delay=20))
    (web,) = spec["containers"]
    assert web["readinessProbe"] == {
        "tcpSocket": {"port": 8080},
        "periodSeconds": 5,
        "timeoutSeconds": 2,
        "failureThreshold": 2,
    }
    assert web["lifecycle"] == {"preStop": {"sleep": {"seconds": 20}}}
    assert spec["terminationGracePeriodSeconds"] == 30 + 20  # ECS's default stopTimeout after the drain


def test_default_deregistration_delay_is_elbs_300_seconds_and_0_means_no_drain() -> None:
    t = td(
        [
            {
                "name": "web",
                "image": "i",
                "memory": 64,
                "stopTimeout": 10,
                "portMappings": [{"containerPort": 8080}],
            }
        ]
    )
    spec = pod_spec(render_svc(_lb_service(), t))
    assert spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"] == 300
    assert spec["terminationGracePeriodSeconds"] == 310
    spec = pod_spec(render_svc(_lb_service(), t, deregistration_delay=0))
    assert "lifecycle" not in spec["containers"][0] and spec["terminationGracePeriodSeconds"] == 10


def test_a_health_checked_container_keeps_its_health_check_as_readiness() -> None:
    t = web_td()
    t.containerDefinitions[0].healthCheck = HealthCheck(command=["CMD", "/bin/check"], interval=5)
    (web,) = pod_spec(render_svc(_lb_service(), t))["containers"]
    assert web["readinessProbe"]["exec"]["command"] == ["/bin/check"]
    assert "preStop" in web["lifecycle"]


def test_only_load_balanced_containers_drain() -> None:
    t = td(
        [
            {"name": "web", "image": "i", "memory": 64, "portMappings": [{"containerPort": 8080}]},
            {"name": "sidecar", "image": "i", "memory": 64, "portMappings": [{"containerPort": 9090}]},
        ]
    )
    web, sidecar = pod_spec(render_svc(_lb_service(), t))["containers"]
    assert "lifecycle" in web and "readinessProbe" in web
    assert "lifecycle" not in sidecar and "readinessProbe" not in sidecar
    plain = pod_spec(render_svc(svc(), t))
    assert (
        all("lifecycle" not in c for c in plain["containers"])
        and plain["terminationGracePeriodSeconds"] == 30
    )


def test_udp_targets_drain_but_get_no_tcp_check() -> None:
    (web,) = pod_spec(render_svc(_lb_service(), web_td(protocol="udp")))["containers"]
    assert "readinessProbe" not in web and web["lifecycle"]["preStop"]["sleep"]["seconds"] == 300


def test_load_balancer_node_ports_publish_an_awsvpc_target_group_service() -> None:
    """kind's ALB stand-in: the Service the target group binds becomes a NodePort."""
    [service] = objects(render_svc(_lb_service(), web_td(), load_balancer_node_ports=True), "Service")
    assert service["spec"]["type"] == "NodePort"
    [service] = objects(render_svc(_lb_service(), web_td()), "Service")
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
