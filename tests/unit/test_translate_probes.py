"""healthCheck -> probes: command forms, defaults, startPeriod, essential vs not, HEALTHY gating."""

from __future__ import annotations

from helpers_translate import container, render, td

from ecsk.core.models import TaskDefinition


def hc_td(hc: dict[str, object], essential: bool = True) -> TaskDefinition:
    return td(
        [
            {"name": "a", "image": "i", "memory": 64, "essential": essential, "healthCheck": hc},
            {"name": "b", "image": "i", "memory": 64},
        ]
    )


def test_cmd_shell_runs_through_sh() -> None:
    c = container(render(hc_td({"command": ["CMD-SHELL", "curl -f localhost || exit 1"]})), "a")
    assert c["livenessProbe"]["exec"]["command"] == ["/bin/sh", "-c", "curl -f localhost || exit 1"]


def test_cmd_is_argv() -> None:
    c = container(render(hc_td({"command": ["CMD", "/bin/check", "--fast"]})), "a")
    assert c["readinessProbe"]["exec"]["command"] == ["/bin/check", "--fast"]


def test_defaults_30_5_3() -> None:
    c = container(render(hc_td({"command": ["CMD", "x"]})), "a")
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["periodSeconds"] == 30
        assert c[probe]["timeoutSeconds"] == 5
        assert c[probe]["failureThreshold"] == 3
    assert "startupProbe" not in c


def test_explicit_values_and_start_period() -> None:
    hc = {"command": ["CMD", "x"], "interval": 10, "timeout": 2, "retries": 4, "startPeriod": 60}
    c = container(render(hc_td(hc)), "a")
    assert c["livenessProbe"] == {
        "exec": {"command": ["x"]},
        "periodSeconds": 10,
        "timeoutSeconds": 2,
        "failureThreshold": 4,
    }
    # startPeriod 60 + retries 4 * interval 10 = 100s budget = 10 periods
    assert c["startupProbe"]["failureThreshold"] == 10
    assert c["startupProbe"]["periodSeconds"] == 10


def test_non_essential_gets_readiness_only() -> None:
    c = container(render(hc_td({"command": ["CMD", "x"]}, essential=False)), "a")
    assert "readinessProbe" in c and "livenessProbe" not in c


def test_healthy_dependency_gets_a_gating_startup_probe() -> None:
    t = td(
        [
            {
                "name": "proxy",
                "image": "envoy",
                "memory": 64,
                "healthCheck": {"command": ["CMD", "ok"], "interval": 5},
                "startTimeout": 60,
            },
            {
                "name": "app",
                "image": "i",
                "memory": 64,
                "dependsOn": [{"containerName": "proxy", "condition": "HEALTHY"}],
            },
        ]
    )
    proxy = container(render(t), "proxy")
    assert proxy["restartPolicy"] == "Always"
    # startTimeout bounds the wait: 60s / 5s = 12 periods
    assert proxy["startupProbe"]["failureThreshold"] == 12


def test_command_without_prefix_runs_as_given() -> None:
    """ECS hands `["/healthcheck"]` (AWS's ADOT samples, a distroless image: no shell) to Docker
    unchanged: the closest probe is an exec of the list itself, never a shell wrapper. The
    warning is validation's; the render explains the probe instead of repeating it."""
    r = render(hc_td({"command": ["/healthcheck"]}))
    a = container(r, "a")
    assert a["readinessProbe"]["exec"]["command"] == ["/healthcheck"]
    assert a["livenessProbe"]["exec"]["command"] == ["/healthcheck"]
    assert not r.diagnostics
    note = next(e for e in r.explanations if e.ecs_path == "containerDefinitions[0].healthCheck.command")
    assert "as given" in note.note


def test_none_command_renders_no_probe() -> None:
    r = render(hc_td({"command": ["NONE"]}))
    a = container(r, "a")
    assert not {"readinessProbe", "livenessProbe", "startupProbe"} & set(a)
    note = next(e for e in r.explanations if e.ecs_path == "containerDefinitions[0].healthCheck")
    assert "no probe" in note.note
