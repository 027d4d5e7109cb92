"""CRDs: generated from the models, structural, and identical to the committed crds/*.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecsk.core.models import TaskDefinition
from ecsk.core.schema.crds import (
    KINDS,
    all_crds,
    crd_files,
    kustomization_text,
    main,
    structural_schema,
    write_crds,
)

REPO = Path(__file__).resolve().parents[2]
CRD_DIR = REPO / "crds"
Json = dict[str, Any]


def test_committed_crds_match_the_models() -> None:
    """Drift test: regenerate with `python -m ecsk.core.schema.crds crds/` after changing a model."""
    expected = {**dict(crd_files()), "kustomization.yaml": kustomization_text()}
    committed = {p.name: p.read_text(encoding="utf-8") for p in CRD_DIR.glob("*.yaml")}
    assert sorted(committed) == sorted(expected), "crds/ has missing or extra files"
    stale = [name for name, text in expected.items() if committed[name] != text]
    assert not stale, f"crds/ is stale for {stale}: run `python -m ecsk.core.schema.crds crds/`"


def test_write_crds_and_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written = write_crds(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(
        [*(name for name, _ in crd_files()), "kustomization.yaml"]
    )
    assert main([]) == 0
    printed = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    assert [d["spec"]["names"]["kind"] for d in printed] == [
        "TaskDefinition",
        "ECSService",
        "Task",
        "ScheduledTask",
        "FargateProfile",
        "CapacityProvider",
        "ECSCluster",
        "ScalableTarget",
        "ScalingPolicy",
        "ScheduledAction",
        "Repository",
        "AppRunnerService",
        "AppRunnerAutoScalingConfiguration",
    ]


_ALL: list[Json] = all_crds()


def _crd(kind: str) -> Json:
    return next(c for c in _ALL if c["spec"]["names"]["kind"] == kind)


def _version(kind: str) -> Json:
    version: Json = _crd(kind)["spec"]["versions"][0]
    return version


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Json]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.get("properties", {}).items():
            yield from _walk(value, f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            yield from _walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            yield from _walk(node["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize("kind", [k.kind for k in KINDS])
def test_schemas_are_structural(kind: str) -> None:
    schema = _version(kind)["schema"]["openAPIV3Schema"]
    nodes = [node for _, node in _walk(schema)]
    for banned in ("$ref", "anyOf", "allOf", "oneOf", "$defs", "nullable", "title", "default"):
        # keys, not text: AWS field names such as defaultCapacityProviderStrategy contain "default"
        assert not any(banned in node for node in nodes), banned
    for path, node in _walk(schema):
        typed = (
            "type" in node
            or node.get("x-kubernetes-int-or-string")
            or node.get("x-kubernetes-preserve-unknown-fields")
        )
        assert typed, f"{kind}{path} has no type"
        assert node.get("additionalProperties") is not False, f"{kind}{path}"
        assert not ("properties" in node and "additionalProperties" in node), f"{kind}{path}"
        if node.get("type") == "object" and "properties" not in node and "additionalProperties" not in node:
            assert node.get("x-kubernetes-preserve-unknown-fields") or path in (".metadata",), f"{kind}{path}"


@pytest.mark.parametrize(
    ("kind", "plural", "short_names"),
    [
        ("TaskDefinition", "taskdefinitions", ["td", "taskdef"]),
        ("ECSService", "ecsservices", ["esvc", "ecssvc"]),
        ("Task", "tasks", ["ecstask"]),
        ("ScheduledTask", "scheduledtasks", ["st"]),
    ],
)
def test_names_group_and_subresources(kind: str, plural: str, short_names: list[str]) -> None:
    crd = _crd(kind)
    assert crd["metadata"]["name"] == f"{plural}.ecs.ecsk.io"
    spec = crd["spec"]
    assert spec["group"] == "ecs.ecsk.io" and spec["scope"] == "Namespaced"
    assert spec["names"]["shortNames"] == short_names and spec["names"]["categories"] == ["ecs"]
    version = _version(kind)
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    assert version["subresources"]["status"] == {}
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    assert status == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    assert version["additionalPrinterColumns"][-1] == {
        "name": "Age",
        "type": "date",
        "jsonPath": ".metadata.creationTimestamp",
    }


def test_service_scale_subresource_and_columns() -> None:
    version = _version("ECSService")
    assert version["subresources"]["scale"] == {
        "specReplicasPath": ".spec.desiredCount",
        "statusReplicasPath": ".status.runningCount",
        "labelSelectorPath": ".status.selector",
    }
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == ["Desired", "Running", "Pending", "Task Definition", "Launch Type", "Age"]
    assert "scale" not in _version("TaskDefinition")["subresources"]


def test_task_definition_columns() -> None:
    columns = {c["name"]: c["jsonPath"] for c in _version("TaskDefinition")["additionalPrinterColumns"]}
    assert columns == {
        "Family": ".spec.family",
        "Revision": ".status.revision",
        "Status": ".status.status",
        "CPU": ".spec.cpu",
        "Memory": ".spec.memory",
        "Age": ".metadata.creationTimestamp",
    }


def _plain(node: Json) -> Json:
    """A schema node without its description (checked by the tests below)."""
    return {k: v for k, v in node.items() if k != "description"}


def _spec(kind: str) -> Json:
    spec: Json = _version(kind)["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return spec


def test_task_definition_schema_limits() -> None:
    spec = _spec("TaskDefinition")
    assert "family" not in spec.get("required", [])  # filled from metadata.name
    assert spec["required"] == ["containerDefinitions"]
    containers = spec["properties"]["containerDefinitions"]
    assert (containers["minItems"], containers["maxItems"]) == (1, 10)
    health = containers["items"]["properties"]["healthCheck"]["properties"]
    assert {k: (v.get("minimum"), v.get("maximum")) for k, v in health.items() if k != "command"} == {
        "interval": (5, 300),
        "timeout": (2, 60),
        "retries": (1, 10),
        "startPeriod": (0, 300),
    }
    assert _plain(spec["properties"]["cpu"]) == {"x-kubernetes-int-or-string": True, "maxLength": 32}
    assert spec["properties"]["ephemeralStorage"]["properties"]["sizeInGiB"]["minimum"] == 21
    port = containers["items"]["properties"]["portMappings"]["items"]["properties"]["protocol"]
    assert _plain(port) == {"enum": ["tcp", "udp"], "type": "string"}
    labels = containers["items"]["properties"]["dockerLabels"]
    assert _plain(labels) == {"additionalProperties": {"type": "string"}, "type": "object"}
    env_type = containers["items"]["properties"]["environmentFiles"]["items"]["properties"]["type"]
    assert _plain(env_type) == {"enum": ["s3"], "type": "string"}


def test_service_schema() -> None:
    spec = _spec("ECSService")
    assert "required" not in spec  # serviceName is filled from metadata.name
    assert spec["properties"]["capacityProviderStrategy"]["maxItems"] == 6
    item = spec["properties"]["capacityProviderStrategy"]["items"]["properties"]
    assert (item["weight"]["minimum"], item["weight"]["maximum"], item["base"]["maximum"]) == (
        0,
        1000,
        100000,
    )
    assert spec["properties"]["placementStrategy"]["maxItems"] == 5
    assert spec["properties"]["placementConstraints"]["maxItems"] == 10
    assert _plain(spec["properties"]["desiredCount"]) == {"type": "integer", "minimum": 0}
    assert spec["properties"]["taskSets"]["items"] == {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }


def _messages(node: Json) -> list[str]:
    return [r["message"] for r in node.get("x-kubernetes-validations", [])]


def test_cel_rules_are_attached_where_they_belong() -> None:
    spec = _spec("TaskDefinition")
    root = _messages(spec)
    assert "At least one essential container is required for task definition." in root
    assert "Invalid 'cpu' setting for task" in root
    assert "Fargate only supports network mode 'awsvpc'." in root
    container = spec["properties"]["containerDefinitions"]["items"]
    assert "'memory' must be greater than or equal to 'memoryReservation'." in _messages(container)
    efs = spec["properties"]["volumes"]["items"]["properties"]["efsVolumeConfiguration"]
    assert len(_messages(efs)) == 2
    svc = _messages(_spec("ECSService"))
    assert (
        "Specifying both a launch type and capacity provider strategy is not supported. "
        "Remove one and try again." in svc
    )
    for kind in ("Task",):
        assert len(_messages(_spec(kind))) == 4
    assert len(_messages(_spec("ScheduledTask")["properties"]["ecsParameters"])) == 4


def test_fargate_cel_table_lists_every_pair() -> None:
    from ecsk.core.validation import FARGATE_CPU_MEMORY

    rule = next(
        r
        for r in _spec("TaskDefinition")["x-kubernetes-validations"]
        if r["message"] == "Invalid 'cpu' setting for task"
    )
    assert rule["fieldPath"] == ".cpu"
    for cpu, mem in FARGATE_CPU_MEMORY:
        assert f"'{cpu}:{mem}'" in rule["rule"]


def test_cel_rules_stay_on_bounded_lists() -> None:
    """Rules that iterate containers rely on maxItems and maxLength to keep the CEL cost estimate low."""
    spec = _spec("TaskDefinition")
    containers = spec["properties"]["containerDefinitions"]
    assert containers["maxItems"] == 10
    assert containers["items"]["properties"]["name"]["maxLength"] == 255
    depends = containers["items"]["properties"]["dependsOn"]
    assert depends["maxItems"] == 10 and depends["items"]["properties"]["containerName"]["maxLength"] == 255


def test_structural_schema_of_a_model_is_self_contained() -> None:
    schema = structural_schema(TaskDefinition)
    assert schema["type"] == "object" and "containerDefinitions" in schema["properties"]
    assert "$defs" not in yaml.safe_dump(schema)


def test_kubectl_explain_reads_the_aws_reference() -> None:
    """`kubectl explain ecsservice.spec.deploymentConfiguration` explains each field as the AWS
    API reference does (botocore's documentation strings, first paragraph as plain text)."""
    from ecsk.core.schema.aws_model import member_doc, service_shapes

    dc = _spec("ECSService")["properties"]["deploymentConfiguration"]
    assert dc["description"].startswith("Optional deployment parameters that control how many tasks run")
    fields = dc["properties"]
    assert all(f.get("description") for f in fields.values()), [
        n for n, f in fields.items() if "description" not in f
    ]
    assert fields["maximumPercent"]["description"] == member_doc(
        service_shapes("ecs"), "DeploymentConfiguration", "maximumPercent"
    )
    assert "<" not in fields["maximumPercent"]["description"]  # no HTML left
    container = _spec("TaskDefinition")["properties"]["containerDefinitions"]["items"]["properties"]
    assert container["image"]["description"].startswith("The image used to start a container.")
    policy = _spec("ScalingPolicy")["properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert "target value" in policy["properties"]["TargetValue"]["description"].lower()


def _undescribed(node: Json, path: str) -> Iterator[str]:
    for name, prop in node.get("properties", {}).items():
        if "description" not in prop:
            yield f"{path}.{name}"
        yield from _undescribed(prop.get("items", prop), f"{path}.{name}")


ECSK_OWN = {"ScalingPolicy": "spec.Alarm", "CapacityProvider": "spec.autoScalingGroup"}
"""ecsk's extension objects: described as a whole (their docstring), their fields are not AWS's."""


@pytest.mark.parametrize(
    "kind",
    [
        "TaskDefinition",
        "ECSService",
        "Task",
        "CapacityProvider",
        "ECSCluster",
        "ScalableTarget",
        "ScalingPolicy",
        "ScheduledAction",
    ],
)
def test_every_aws_field_has_a_description(kind: str) -> None:
    spec = _spec(kind)
    own = ECSK_OWN.get(kind)
    assert [p for p in _undescribed(spec, "spec") if not (own and p.startswith(own + "."))] == []
    if own:
        assert "ecsk extension" in spec["properties"][own.split(".")[1]]["description"]


def test_plain_text_keeps_the_first_paragraph_and_whole_sentences() -> None:
    from ecsk.core.schema.aws_model import plain_text

    html = "<p>The <code>cpu</code> &amp; memory. Second sentence here.</p> <p>Other paragraph.</p>"
    assert plain_text(html) == "The cpu & memory. Second sentence here."
    assert plain_text(html, limit=20) == "The cpu & memory."
    assert plain_text("<p>" + "x" * 50 + "</p>", limit=10) == "x" * 9 + "…"
    assert plain_text("") == ""
