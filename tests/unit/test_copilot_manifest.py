"""Reading Copilot manifests: types, value formats, interpolation, environment overrides, and
the fields ecsk does not map being named (never silently dropped)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecsk.core.copilot import ManifestError, load
from ecsk.core.copilot import values as v
from ecsk.core.copilot.fields import TREES, unsupported_fields
from ecsk.core.copilot.manifest import interpolate, merge

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "copilot"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def problems(exc: pytest.ExceptionInfo[ManifestError]) -> list[str]:
    return [str(i) for i in exc.value.issues]


# --- types -------------------------------------------------------------------------------------


def test_misspelt_type_from_copilots_own_docs_is_refused_in_copilots_words() -> None:
    """Copilot's "Shared file system" Backend Service sample says `Backend Serivce`."""
    with pytest.raises(ManifestError) as exc:
        load(fixture("backend-shared-file-system.yml"), "demo", "test")
    assert problems(exc) == ["type: invalid manifest type: Backend Serivce"]


def test_missing_type_and_name() -> None:
    with pytest.raises(ManifestError) as exc:
        load("name: web\n", "demo", "test")
    assert problems(exc) == ["type: invalid manifest type: "]
    with pytest.raises(ManifestError) as exc:
        load("type: Backend Service\n", "demo", "test")
    assert problems(exc) == ['name: "name" must be specified']


def test_worker_service_is_refused_with_the_reason() -> None:
    with pytest.raises(ManifestError) as exc:
        load(fixture("worker-single-queue.yml"), "demo", "test")
    assert "Worker Service is not supported by ecsk" in problems(exc)[0]
    assert "SQS" in problems(exc)[0]


def test_invalid_service_name() -> None:
    with pytest.raises(ManifestError) as exc:
        load("name: Web_1\ntype: Backend Service\nimage: {location: nginx}\n", "demo", "test")
    assert "must start with a letter, contain only lower-case letters" in problems(exc)[0]


def test_on_key_is_a_string_as_in_go_yaml() -> None:
    """YAML 1.1 reads `on:` as the boolean True; Copilot's parser keeps the key "on"."""
    wl = load(fixture("scheduled-job.yml"), "demo", "test")
    assert wl.body["on"] == {"schedule": "@daily"}


def test_yaml_error_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError) as exc:
        load("name: [web\n", "demo", "test")
    assert problems(exc)[0].startswith("unmarshal to workload manifest:")


# --- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("60s", 60), ("1h30m", 5400), ("250ms", 0.25), ("2m", 120), ("1.5h", 5400), (0, 0)],
)
def test_go_durations(text: object, seconds: float) -> None:
    assert v.duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10", 'time: missing unit in duration "10"'),
        ("ten", 'time: invalid duration "ten"'),
        ("5x", 'time: invalid duration "5x"'),
    ],
)
def test_go_duration_errors(text: str, message: str) -> None:
    with pytest.raises(v.ValueProblem, match=message):
        v.duration(text)


@pytest.mark.parametrize(
    ("schedule", "expression", "enabled"),
    [
        ("@daily", "cron(0 0 * * ? *)", True),
        ("@weekly", "cron(0 0 ? * 1 *)", True),
        ("@hourly", "cron(0 * * * ? *)", True),
        ("@yearly", "cron(0 0 1 1 ? *)", True),
        ("@every 1h30m", "rate(90 minutes)", True),
        ("@every 1m", "rate(1 minute)", True),
        ("0 9 * * 1-5", "cron(0 9 ? * 2-6 *)", True),
        ("*/5 * * * *", "cron(*/5 * * * ? *)", True),
        ("0 0 1 * *", "cron(0 0 1 * ? *)", True),
        ("rate(5 minutes)", "rate(5 minutes)", True),
        ("cron(0 12 * * ? *)", "cron(0 12 * * ? *)", True),
        ("none", "rate(5 minutes)", False),
    ],
)
def test_schedules_convert_as_copilot_does(schedule: str, expression: str, enabled: bool) -> None:
    assert v.schedule(schedule) == (expression, enabled)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("@every 0m", "duration must be greater than or equal to 1 minute"),
        ("@every 90s", "duration must be a whole number of minutes or hours"),
        ("0 9 1 * 1", "cannot specify both DOW and DOM in cron expression"),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
        ("0 9 * *", "expected exactly 5 fields, found 4"),
        ("rate(1 minutes)", "use the singular unit for 1"),
    ],
)
def test_schedule_errors(schedule: str, message: str) -> None:
    with pytest.raises(v.ValueProblem, match=message):
        v.schedule(schedule)


def test_platforms() -> None:
    assert v.platform("linux/arm64") == v.Platform("LINUX", "ARM64", "linux/arm64")
    assert v.platform("linux/x86_64").architecture == "X86_64"
    assert v.platform("windows/x86_64").os_family == "WINDOWS_SERVER_2019_CORE"
    full = v.platform({"osfamily": "windows_server_2022_full", "architecture": "x86_64"})
    assert full.os_family == "WINDOWS_SERVER_2022_FULL"
    with pytest.raises(
        v.ValueProblem, match="platform 'linux/ppc64' is invalid; valid platforms are: linux/amd64"
    ):
        v.platform("linux/ppc64")
    with pytest.raises(v.ValueProblem, match=r"must be in the format \[OS\]/\[Arch\]"):
        v.platform("linux")
    with pytest.raises(v.ValueProblem, match="must either both be specified or both be empty"):
        v.platform({"osfamily": "linux"})


def test_count_ranges() -> None:
    assert v.count_range("1-10") == v.Range(1, 10)
    assert v.count_range({"min": 1, "max": 10, "spot_from": 3}) == v.Range(1, 10, 3)
    with pytest.raises(v.ValueProblem, match="min value 10 cannot be greater than max value 1"):
        v.count_range("10-1")
    with pytest.raises(
        v.ValueProblem, match=r"invalid range value 1to10: valid format is \$\{min\}-\$\{max\}"
    ):
        v.count_range("1to10")
    with pytest.raises(v.ValueProblem, match='"min/max" must be specified'):
        v.count_range({"min": 1})


def test_commands_split_like_a_shell() -> None:
    assert v.command("/bin/entrypoint --p1 --p2") == ["/bin/entrypoint", "--p1", "--p2"]
    assert v.command(["ps", "au"]) == ["ps", "au"]
    assert v.command("sh -c 'echo hi there'") == ["sh", "-c", "echo hi there"]


# --- interpolation and overrides ---------------------------------------------------------------


def test_interpolation_of_predefined_and_os_variables() -> None:
    pre = {"COPILOT_APPLICATION_NAME": "demo", "COPILOT_ENVIRONMENT_NAME": "test"}
    raw = {
        "secrets": {"DB": {"secretsmanager": "${COPILOT_APPLICATION_NAME}/${COPILOT_ENVIRONMENT_NAME}/mysql"}}
    }
    assert interpolate(raw, pre, {})["secrets"]["DB"]["secretsmanager"] == "demo/test/mysql"
    assert interpolate({"v": "${TAG}"}, pre, {"TAG": "v1"}) == {"v": "v1"}
    assert interpolate({"v": r"\${TAG}"}, pre, {}) == {"v": "${TAG}"}
    assert interpolate({"subnets": "${SUBNETS}"}, pre, {"SUBNETS": '["a","b"]'}) == {"subnets": ["a", "b"]}
    with pytest.raises(ManifestError, match='environment variable "TAG" is not defined'):
        interpolate({"v": "${TAG}"}, pre, {})
    with pytest.raises(
        ManifestError, match='predefined environment variable "COPILOT_ENVIRONMENT_NAME" cannot be'
    ):
        interpolate({"v": "${COPILOT_ENVIRONMENT_NAME}"}, pre, {"COPILOT_ENVIRONMENT_NAME": "prod"})


def test_environment_override_merges_maps_and_replaces_scalars_and_lists() -> None:
    base = {
        "cpu": 256,
        "variables": {"A": "1", "B": "2"},
        "command": ["a", "b"],
        "count": {"range": "1-10", "cpu_percentage": 70},
    }
    over = {"cpu": 2048, "variables": {"B": "3"}, "command": ["c"], "count": 1}
    assert merge(base, over) == {"cpu": 2048, "variables": {"A": "1", "B": "3"}, "command": ["c"], "count": 1}


def test_environment_override_switching_a_union_drops_the_other_form() -> None:
    base = {"image": {"build": "./Dockerfile", "port": 80}, "count": {"range": "1-3", "cpu_percentage": 50}}
    over = {"image": {"location": "nginx:1.27"}, "count": {"spot": 2}}
    merged = merge(base, over)
    assert merged["image"] == {"port": 80, "location": "nginx:1.27"}
    assert merged["count"] == {"spot": 2}
    efs = merge({"efs": {"id": "fs-1", "root_dir": "/a"}}, {"efs": {"uid": 1, "gid": 2}})
    assert efs == {"efs": {"uid": 1, "gid": 2}}


def test_load_applies_only_the_deployed_environments_override() -> None:
    text = fixture("backend-internal.yml")
    test = load(text, "demo", "test")
    prod = load(text, "demo", "prod")
    assert test.body["count"] == 1 and test.body["deployment"] == {"rolling": "recreate"}
    assert prod.body["count"] == 2 and "deployment" not in prod.body
    assert "environments" not in test.body


# --- nothing dropped silently -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("lbws-autoscaling.yml", ["http.path"]),
        ("lbws-basic.yml", ["http.path", "http.healthcheck"]),
        ("lbws-domain.yml", ["http.path", "http.alias"]),
        ("lbws-nlb.yml", ["nlb", "sidecars"]),
        ("lbws-shared-file-system.yml", ["image.depends_on", "http.path", "sidecars"]),
        (
            "lbws-larger-containers.yml",
            [
                "http.path",
                "http.healthcheck.path",
                "http.healthcheck.port",
                "http.healthcheck.success_codes",
                "http.healthcheck.healthy_threshold",
                "http.healthcheck.unhealthy_threshold",
                "http.healthcheck.interval",
                "http.healthcheck.timeout",
                "http.deregistration_delay",
                "http.stickiness",
                "http.allowed_source_ips",
            ],
        ),
        ("backend-internal.yml", ["env_file"]),
        ("backend-event-driven.yml", ["publish"]),
        ("rdws-public.yml", ["http.alias", "observability"]),
        ("rdws-vpc.yml", ["network.vpc.placement"]),
        ("scheduled-job.yml", ["retries", "timeout", "env_file"]),
    ],
)
def test_every_unmapped_field_of_the_docs_samples_is_named(name: str, named: list[str]) -> None:
    wl = load(fixture(name), "demo", "test")
    assert [w.path for w in wl.warnings] == named
    assert all(w.severity == "warning" and w.message for w in wl.warnings)


def test_a_field_copilot_does_not_know_is_named_too() -> None:
    wl = load(
        "name: api\ntype: Backend Service\nimage: {location: nginx, prot: 80}\ncpus: 2\n", "demo", "test"
    )
    assert [(w.path, w.rule) for w in wl.warnings] == [
        ("image.prot", "copilot.unknown"),
        ("cpus", "copilot.unknown"),
    ]


def test_an_unsupported_field_set_only_in_an_environment_override_is_named() -> None:
    text = (
        "name: api\ntype: Backend Service\nimage: {location: nginx}\n"
        "environments:\n  test:\n    logging: {retention: 7}\n"
    )
    assert [w.path for w in load(text, "demo", "test").warnings] == ["logging"]
    assert load(text, "demo", "prod").warnings == []


def test_every_type_has_a_field_tree() -> None:
    for kind, tree in TREES.items():
        assert {"name", "type", "image", "cpu", "memory"} <= set(tree), kind
        assert unsupported_fields({"name": "x", "type": kind}, kind) == []
