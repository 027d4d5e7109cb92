"""CPU units, memory, pod-level resources and its fallback, GPU, ephemeral storage."""

from __future__ import annotations

import pytest
from helpers_translate import container, explanation, pod_spec, render, td

from ecsk.core.translate.resources import cpu_units_to_millicores


@pytest.mark.parametrize(
    ("units", "milli"),
    [
        (1, 1),
        (2, 2),
        (100, 98),
        (128, 125),
        (256, 250),
        (512, 500),
        (1000, 977),
        (1024, 1000),
        (1536, 1500),
        (4096, 4000),
        (10, 10),
        (3, 3),
    ],
)
def test_cpu_units_round_up_to_millicores(units: int, milli: int) -> None:
    assert cpu_units_to_millicores(units) == milli
    assert milli * 1024 >= units * 1000  # never less than ECS reserves


def test_container_cpu_is_a_request_only() -> None:
    r = render(td([{"name": "a", "image": "i", "cpu": 100, "memory": 64}]))
    res = container(r, "a")["resources"]
    assert res["requests"]["cpu"] == "98m"
    assert "cpu" not in res["limits"]
    assert "98m" in explanation(r, "containerDefinitions[0].cpu").note


def test_cpu_zero_renders_nothing() -> None:
    r = render(td([{"name": "a", "image": "i", "cpu": 0, "memory": 64}]))
    assert "cpu" not in container(r, "a")["resources"].get("requests", {})


def test_memory_only_sets_request_equal_limit() -> None:
    res = container(render(td([{"name": "a", "image": "i", "memory": 300}])), "a")["resources"]
    assert res == {"requests": {"memory": "300Mi"}, "limits": {"memory": "300Mi"}}


def test_memory_reservation_is_the_request() -> None:
    res = container(render(td([{"name": "a", "image": "i", "memory": 512, "memoryReservation": 256}])), "a")[
        "resources"
    ]
    assert res == {"requests": {"memory": "256Mi"}, "limits": {"memory": "512Mi"}}


def test_memory_reservation_alone_has_no_limit() -> None:
    res = container(render(td([{"name": "a", "image": "i", "memoryReservation": 256}], memory="512")), "a")[
        "resources"
    ]
    assert res == {"requests": {"memory": "256Mi"}}


def test_task_size_becomes_pod_level_resources() -> None:
    r = render(td([{"name": "a", "image": "i"}], cpu="1 vCPU", memory="2GB"))
    spec = pod_spec(r)
    assert spec["resources"] == {
        "requests": {"cpu": "1000m", "memory": "2048Mi"},
        "limits": {"cpu": "1000m", "memory": "2048Mi"},
    }
    assert explanation(r, "cpu").k8s_paths == ("spec.resources.{requests,limits}.cpu",)


def test_pod_level_skipped_when_containers_ask_more_than_the_task() -> None:
    r = render(td([{"name": "a", "image": "i", "memory": 1024}], memory="512"))
    assert "resources" not in pod_spec(r)
    assert [d.code for d in r.diagnostics] == ["TaskMemoryTooSmall"]


def test_fallback_without_pod_level_resources() -> None:
    t = td(
        [
            {"name": "a", "image": "i", "cpu": 256, "memory": 256},
            {"name": "b", "image": "i"},
            {"name": "c", "image": "i"},
        ],
        cpu="1024",
        memory="2048",
    )
    r = render(t, pod_level_resources=False)
    spec = pod_spec(r)
    assert "resources" not in spec
    b = container(r, "b")["resources"]
    c = container(r, "c")["resources"]
    # limits = the whole task; requests = an even share of what is left (remainder to the first)
    assert b["limits"] == {"cpu": "1000m", "memory": "2048Mi"}
    assert b["requests"] == {"cpu": "375m", "memory": "896Mi"}
    assert c["requests"] == {"cpu": "375m", "memory": "896Mi"}
    assert container(r, "a")["resources"]["requests"] == {"cpu": "250m", "memory": "256Mi"}


def test_gpu_resource_requirement() -> None:
    r = render(
        td(
            [
                {
                    "name": "a",
                    "image": "i",
                    "memory": 64,
                    "resourceRequirements": [{"type": "GPU", "value": "2"}],
                }
            ]
        )
    )
    assert container(r, "a")["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_ephemeral_storage_on_first_essential_container() -> None:
    t = td(
        [{"name": "side", "image": "i", "essential": False}, {"name": "main", "image": "i"}],
        ephemeralStorage={"sizeInGiB": 40},
        memory="512",
    )
    r = render(t)
    assert container(r, "main")["resources"]["requests"]["ephemeral-storage"] == "40Gi"
    assert "resources" not in container(r, "side")


def test_windows_pods_use_the_fallback_and_drop_linux_settings() -> None:
    t = td(
        [{"name": "iis", "image": "iis", "user": "1000", "privileged": False}],
        cpu="1024",
        memory="2048",
        runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"},
    )
    r = render(t)
    spec = pod_spec(r)
    assert "resources" not in spec
    assert spec["containers"][0]["resources"]["limits"] == {"cpu": "1000m", "memory": "2048Mi"}
    assert "securityContext" not in spec["containers"][0]
