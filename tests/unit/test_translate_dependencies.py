"""dependsOn -> init containers / native sidecars, ordering, COMPLETE wrapping, essential."""

from __future__ import annotations

from helpers_translate import container, explanation, pod_spec, render, td, template_meta


def names(spec: dict[str, list[dict[str, object]]], key: str) -> list[object]:
    return [c["name"] for c in spec.get(key, [])]


def test_start_and_healthy_become_native_sidecars_in_dependency_order() -> None:
    t = td(
        [
            {
                "name": "app",
                "image": "i",
                "memory": 64,
                "dependsOn": [
                    {"containerName": "envoy", "condition": "HEALTHY"},
                    {"containerName": "xray", "condition": "START"},
                ],
            },
            {
                "name": "envoy",
                "image": "envoy",
                "memory": 64,
                "healthCheck": {"command": ["CMD", "ok"]},
                "dependsOn": [{"containerName": "xray", "condition": "START"}],
            },
            {"name": "xray", "image": "xray", "memory": 64, "essential": False},
        ]
    )
    r = render(t)
    spec = pod_spec(r)
    assert names(spec, "initContainers") == ["xray", "envoy"]
    assert names(spec, "containers") == ["app"]
    assert all(c["restartPolicy"] == "Always" for c in spec["initContainers"])
    assert "startupProbe" in container(r, "envoy")
    assert "startupProbe" not in container(r, "xray")
    assert "HEALTHY" in explanation(r, "containerDefinitions[0].dependsOn[0]").note


def test_success_dependency_is_a_plain_init_container() -> None:
    t = td(
        [
            {"name": "migrate", "image": "i", "memory": 64, "essential": False, "command": ["migrate"]},
            {
                "name": "web",
                "image": "i",
                "memory": 64,
                "dependsOn": [{"containerName": "migrate", "condition": "SUCCESS"}],
            },
        ]
    )
    spec = pod_spec(render(t))
    [init] = spec["initContainers"]
    assert init["name"] == "migrate" and "restartPolicy" not in init
    assert init["args"] == ["migrate"]


def test_complete_dependency_is_wrapped_when_argv_is_known() -> None:
    t = td(
        [
            {
                "name": "warm",
                "image": "i",
                "memory": 64,
                "essential": False,
                "entryPoint": ["warm.sh"],
                "command": ["--all"],
            },
            {
                "name": "web",
                "image": "i",
                "memory": 64,
                "dependsOn": [{"containerName": "warm", "condition": "COMPLETE"}],
            },
        ]
    )
    r = render(t)
    init = container(r, "warm")
    assert init["command"] == ["/bin/sh", "-c", '"$@" || true', "ecsk-complete", "warm.sh", "--all"]
    assert "args" not in init
    assert not r.diagnostics


def test_complete_dependency_without_entrypoint_is_explained() -> None:
    t = td(
        [
            {"name": "warm", "image": "i", "memory": 64, "essential": False, "command": ["--all"]},
            {
                "name": "web",
                "image": "i",
                "memory": 64,
                "dependsOn": [{"containerName": "warm", "condition": "COMPLETE"}],
            },
        ]
    )
    r = render(t)
    assert container(r, "warm")["args"] == ["--all"]
    assert [d.code for d in r.diagnostics] == ["CompleteAsSuccess"]


def test_firelens_router_starts_first() -> None:
    t = td(
        [
            {
                "name": "app",
                "image": "i",
                "memory": 64,
                "logConfiguration": {"logDriver": "awsfirelens", "options": {"Name": "stdout"}},
            },
            {
                "name": "log_router",
                "image": "fluent-bit",
                "memory": 64,
                "firelensConfiguration": {"type": "fluentbit"},
            },
        ]
    )
    spec = pod_spec(render(t))
    assert [c["name"] for c in spec["initContainers"]] == ["log-router"]
    assert spec["initContainers"][0]["restartPolicy"] == "Always"


def test_essential_containers_are_recorded_for_the_operator() -> None:
    t = td(
        [
            {"name": "a", "image": "i", "memory": 64},
            {"name": "b", "image": "i", "memory": 64, "essential": False},
        ]
    )
    r = render(t)
    assert template_meta(r)["annotations"]["ecs.ecsk.io/essential-containers"] == "a"
    assert "restart" in explanation(r, "containerDefinitions[1].essential").note


def test_dependency_cycle_is_an_error() -> None:
    t = td(
        [
            {
                "name": "a",
                "image": "i",
                "memory": 64,
                "dependsOn": [{"containerName": "b", "condition": "START"}],
            },
            {
                "name": "b",
                "image": "i",
                "memory": 64,
                "dependsOn": [{"containerName": "a", "condition": "START"}],
            },
            {
                "name": "c",
                "image": "i",
                "memory": 64,
                "dependsOn": [{"containerName": "a", "condition": "START"}],
            },
        ]
    )
    assert any(d.code == "DependencyCycle" for d in render(t).errors)


def test_plain_init_containers_carry_no_probes() -> None:
    t = td(
        [
            {
                "name": "migrate",
                "image": "i",
                "memory": 64,
                "essential": False,
                "healthCheck": {"command": ["CMD", "true"]},
            },
            {
                "name": "web",
                "image": "i",
                "memory": 64,
                "dependsOn": [{"containerName": "migrate", "condition": "SUCCESS"}],
            },
        ]
    )
    r = render(t)
    init = container(r, "migrate")
    assert not {"livenessProbe", "readinessProbe", "startupProbe"} & set(init)
    assert explanation(r, "containerDefinitions[0].healthCheck").k8s_paths is None
