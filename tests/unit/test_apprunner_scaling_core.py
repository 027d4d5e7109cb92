"""App Runner auto scaling configurations: the rules and their wording, ARNs, revisions (numbering,
Latest, INACTIVE, races), how a service's ARN resolves and stays bound, the CRD, and the API's
operations on a fake store (create two revisions, list/describe, delete refusals)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from ecsk.api.apprunner import scaling as api
from ecsk.api.apprunner import services
from ecsk.api.context import Context, Settings
from ecsk.api.errors import AwsError
from ecsk.api.store import Conflict
from ecsk.core.apprunner import identity, rules, scaling
from ecsk.core.apprunner.scaling import DEFAULT_NAME, KIND, LABEL_REVISION
from ecsk.core.schema.crds import KINDS, crd_for

REGION, ACCOUNT = "us-east-1", "000000000000"
WHERE = (REGION, ACCOUNT)
BASE = f"arn:aws:apprunner:{REGION}:{ACCOUNT}:autoscalingconfiguration"
IMAGE = {"ImageIdentifier": "public.ecr.aws/x/y:latest", "ImageRepositoryType": "ECR_PUBLIC"}


def errors(raw: dict[str, Any]) -> list[str]:
    _, issues = scaling.check(raw)
    return [i.message for i in issues if i.is_error]


def body(
    name: str, revision: int | None, created: str = "2026-01-01T00:00:00Z", **spec: Any
) -> dict[str, Any]:
    labels = {LABEL_REVISION: str(revision)} if revision else {}
    return {
        "kind": KIND,
        "metadata": {"name": f"obj-{name}-{revision}-{created[-3:-1]}".lower(),
                     "uid": f"uid-{name}-{revision}", "labels": labels, "creationTimestamp": created},
        "spec": {"AutoScalingConfigurationName": name, **spec},
    }  # fmt: skip


# --- rules --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "wording"),
    [
        ({"AutoScalingConfigurationName": "abc"}, "Value 'abc' at 'autoScalingConfigurationName' failed to "
         "satisfy constraint: Member must have length greater than or equal to 4"),
        ({"AutoScalingConfigurationName": "a" * 33}, "Member must have length less than or equal to 32"),
        ({"AutoScalingConfigurationName": "-bad-name"}, "Member must satisfy regular expression pattern: "
         "[A-Za-z0-9][A-Za-z0-9\\-_]{3,31}"),
        ({"AutoScalingConfigurationName": "good", "MaxConcurrency": 0}, "Value '0' at 'maxConcurrency' "
         "failed to satisfy constraint: Member must have value greater than or equal to 1"),
        ({"AutoScalingConfigurationName": "good", "MaxConcurrency": 201}, "Value '201' at 'maxConcurrency' "
         "failed to satisfy constraint: Member must have value less than or equal to 200"),
        ({"AutoScalingConfigurationName": "good", "MinSize": 26}, "Value '26' at 'minSize' failed to satisfy "
         "constraint: Member must have value less than or equal to 25"),
        ({"AutoScalingConfigurationName": "good", "MaxSize": 0}, "Value '0' at 'maxSize' failed to satisfy "
         "constraint: Member must have value greater than or equal to 1"),
        ({"AutoScalingConfigurationName": "good", "MinSize": 5, "MaxSize": 3},
         "MinSize must be less than or equal to MaxSize (MinSize 5, MaxSize 3)."),
        ({"AutoScalingConfigurationName": "good", "MinSize": 3}, None),
        # App Runner's model bounds MaxSize below only (25 is an account quota's default)
        ({"AutoScalingConfigurationName": "good_name-2", "MaxSize": 40}, None),
        ({"AutoScalingConfigurationName": "good", "Typo": 1}, "Unknown parameter"),
    ],
)  # fmt: skip
def test_configuration_rules_in_app_runner_words(raw: dict[str, Any], wording: str | None) -> None:
    found = errors(raw)
    if wording is None:
        assert found == []
    else:
        assert any(wording in f for f in found), found


def test_defaults_are_app_runners() -> None:
    spec, _ = scaling.check({"AutoScalingConfigurationName": "defaults"})
    assert spec is not None and spec.scaling == (100, 1, 25)


def service(**extra: Any) -> dict[str, Any]:
    return {"ServiceName": "web-app", "SourceConfiguration": {"ImageRepository": IMAGE}, **extra}


def service_errors(raw: dict[str, Any]) -> list[str]:
    _, issues = rules.check(raw)
    return [i.message for i in issues if i.is_error]


def test_service_takes_an_arn_or_the_inline_block_never_both() -> None:
    arn = f"{BASE}/high-av/2"
    assert service_errors(service(AutoScalingConfigurationArn=arn)) == []
    assert service_errors(service(AutoScalingConfiguration={"MinSize": 2})) == []
    both = service_errors(service(AutoScalingConfigurationArn=arn, AutoScalingConfiguration={"MinSize": 2}))
    assert both == [rules.SCALING_ONE_OF]
    bad = service_errors(service(AutoScalingConfigurationArn="arn:aws:apprunner:us-east-1:1:service/x/y"))
    assert bad == ["The auto scaling configuration ARN you specified isn't valid. "
                   "ARN: 'arn:aws:apprunner:us-east-1:1:service/x/y'"]  # fmt: skip


# --- ARNs ---------------------------------------------------------------------------------------


def test_arn_forms() -> None:
    full = identity.config_arn(REGION, ACCOUNT, "high-av", 3, "a" * 32)
    assert full == f"{BASE}/high-av/3/{'a' * 32}"
    assert identity.parse_config_arn(full) == identity.ConfigRef(REGION, ACCOUNT, "high-av", 3, "a" * 32)
    assert identity.parse_config_arn(f"{BASE}/high-av/3") == identity.ConfigRef(REGION, ACCOUNT, "high-av", 3)
    assert identity.parse_config_arn(f"{BASE}/high-av") == identity.ConfigRef(REGION, ACCOUNT, "high-av")
    for bad in (
        f"{BASE}/high-av/x",
        f"{BASE}/ab",
        f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/s/1",
        "nope",
    ):
        assert identity.parse_config_arn(bad) is None, bad
    assert len(identity.config_id("uid-1")) == 32 and identity.config_id("uid-1") != identity.config_id(
        "uid-2"
    )


# --- revisions ----------------------------------------------------------------------------------


def test_revisions_number_from_one_and_default_configuration_exists_implicitly() -> None:
    assert scaling.next_revision([], "high-av") == 1
    objs = [body("high-av", 1, MinSize=2), body("high-av", 2, MinSize=3)]
    assert scaling.next_revision(objs, "high-av") == 3
    assert scaling.next_revision(objs, DEFAULT_NAME) == 2  # App Runner's own revision 1 counts
    revs = scaling.revisions(objs, *WHERE)
    default = next(r for r in revs if r.name == DEFAULT_NAME)
    assert (default.revision, default.scaling, default.object_name) == (1, (100, 1, 25), None)
    assert scaling.latest(revs) == {("high-av", 2), (DEFAULT_NAME, 1)}


def test_deleted_revisions_are_inactive_not_latest_and_keep_their_number() -> None:
    objs = [body("high-av", 1), body("high-av", 2)]
    objs[1]["metadata"]["annotations"] = {scaling.ANN_DELETED: "2026-01-02T00:00:00Z"}
    revs = scaling.revisions(objs, *WHERE)
    assert not next(r for r in revs if r.revision == 2).active
    assert ("high-av", 1) in scaling.latest(revs)
    assert scaling.next_revision(objs, "high-av") == 3  # a deleted number is never handed out again
    assert scaling.resolve(identity.ConfigRef(*WHERE, "high-av", 2), revs, *WHERE) is None


def test_assigned_keeps_a_label_gives_the_next_number_and_resolves_races() -> None:
    first = body("high-av", 1, created="2026-01-01T00:00:01Z")
    racer = body("high-av", 1, created="2026-01-01T00:00:02Z")  # same number, created later
    fresh = body("high-av", None, created="2026-01-01T00:00:03Z")
    every = [first, racer, fresh]
    assert scaling.assigned(first, every) == 1
    assert scaling.assigned(racer, every) == 2
    assert scaling.assigned(fresh, every) == 2
    claims_default = body(DEFAULT_NAME, 1)
    assert scaling.assigned(claims_default, [claims_default]) == 2  # revision 1 is App Runner's


def test_resolve_by_revision_id_latest_and_account() -> None:
    objs = [body("high-av", 1, MinSize=2), body("high-av", 2, MinSize=3)]
    revs = scaling.revisions(objs, *WHERE)
    one = next(r for r in revs if r.name == "high-av" and r.revision == 1)
    assert scaling.find(f"{BASE}/high-av/1", revs, *WHERE) == one
    assert scaling.find(one.arn(*WHERE), revs, *WHERE) == one
    assert scaling.find(f"{BASE}/high-av/1/{'0' * 32}", revs, *WHERE) is None  # another id
    assert scaling.find(f"{BASE}/high-av", revs, *WHERE).revision == 2  # type: ignore[union-attr]
    assert scaling.find(f"{BASE}/high-av/3", revs, *WHERE) is None
    assert scaling.find(f"{BASE}/high-av/1", revs, "eu-west-1", ACCOUNT) is None
    assert scaling.find(f"{BASE}/other", revs, *WHERE) is None


def test_a_service_binds_the_latest_revision_and_keeps_it() -> None:
    objs = [body("high-av", 1, MinSize=2)]
    revs = scaling.revisions(objs, *WHERE)
    spec, _ = rules.check(service(AutoScalingConfigurationArn=f"{BASE}/high-av"))
    assert spec is not None
    bound = scaling.in_use(spec, "sid", revs, None, WHERE)
    assert bound is not None and bound.revision == 1
    pinned = {"ref": f"{BASE}/high-av", "arn": bound.arn(*WHERE)}
    newer = scaling.revisions([*objs, body("high-av", 2, MinSize=4)], *WHERE)
    assert scaling.in_use(spec, "sid", newer, pinned, WHERE) == bound  # a new revision moves nothing
    assert scaling.in_use(spec, "sid", newer, None, WHERE).revision == 2  # type: ignore[union-attr]
    default_spec, _ = rules.check(service())
    assert default_spec is not None
    assert scaling.in_use(default_spec, "sid", revs, None, WHERE).name == DEFAULT_NAME  # type: ignore[union-attr]
    inline_spec, _ = rules.check(service(AutoScalingConfiguration={"MaxConcurrency": 10, "MaxSize": 4}))
    assert inline_spec is not None
    inline = scaling.in_use(inline_spec, "sid", revs, None, WHERE)
    assert inline is not None and (inline.name, inline.scaling) == ("web-app-scaling", (10, 1, 4))
    unknown, _ = rules.check(service(AutoScalingConfigurationArn=f"{BASE}/missing/1"))
    assert unknown is not None and scaling.in_use(unknown, "sid", revs, None, WHERE) is None


# --- the CRD ------------------------------------------------------------------------------------


def test_crd_names_columns_and_admission_rules() -> None:
    kind = next(k for k in KINDS if k.kind == KIND)
    crd = crd_for(kind)
    names = crd["spec"]["names"]
    assert names["categories"] == ["ecs"] and "arasc" in names["shortNames"]
    version = crd["spec"]["versions"][0]
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns[:6] == ["Name", "Revision", "MaxConcurrency", "MinSize", "MaxSize", "Latest"]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert "AutoScalingConfigurationName" not in spec.get("required", [])  # metadata.name by default
    texts = [str(r.get("message") or r.get("messageExpression")) for r in spec["x-kubernetes-validations"]]
    for rule in scaling.CONFIG_RULES:
        assert any(rule.wire in t for t in texts), rule
    assert any("MinSize must be less than or equal to MaxSize" in t for t in texts)
    assert {"rule": "self == oldSelf", "message": scaling.IMMUTABLE} in spec["x-kubernetes-validations"]
    ars = crd_for(next(k for k in KINDS if k.kind == "AppRunnerService"))
    root = ars["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    rules_text = [r["rule"] for r in root["x-kubernetes-validations"]]
    assert "!has(self.AutoScalingConfiguration) || !has(self.AutoScalingConfigurationArn)" in rules_text
    assert any(identity.CONFIG_ARN_PATTERN in r for r in rules_text)


# --- the API on a fake store ----------------------------------------------------------------------


class Store:
    """The endpoint's Store as these operations use it (objects by kind and name)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.clock = 0

    def list(self, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for (k, _), o in sorted(self.objects.items()) if k == kind]

    def get(self, kind: str, name: str, fresh: bool = False) -> dict[str, Any] | None:
        return copy.deepcopy(self.objects.get((kind, name)))

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        key = (obj["kind"], obj["metadata"]["name"])
        if key in self.objects:
            raise Conflict(key[1])
        self.clock += 1
        meta = {
            **obj["metadata"],
            "uid": str(uuid.uuid4()),
            "creationTimestamp": f"2026-01-01T00:00:{self.clock:02d}Z",
        }
        self.objects[key] = {**copy.deepcopy(obj), "metadata": meta}
        return copy.deepcopy(self.objects[key])

    def update_spec(self, kind: str, name: str, mutate: Any) -> dict[str, Any] | None:
        found = self.objects.get((kind, name))
        if found is None:
            return None
        found["spec"] = mutate(copy.deepcopy(found))
        return copy.deepcopy(found)

    def merge_patch(self, kind: str, name: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        found = self.objects.get((kind, name))
        if found is None:
            return None
        ann = {**(found["metadata"].get("annotations") or {}), **patch["metadata"]["annotations"]}
        found["metadata"]["annotations"] = {k: v for k, v in ann.items() if v is not None}
        return copy.deepcopy(found)


@pytest.fixture
def ctx() -> Context:
    settings = Settings(region=REGION, account=ACCOUNT, registry_url="http://r", registry_storage="/tmp")
    return Context(Store(), settings)  # type: ignore[arg-type]


def create(ctx: Context, **params: Any) -> dict[str, Any]:
    out: dict[str, Any] = api.create_auto_scaling_configuration(ctx, params)["AutoScalingConfiguration"]
    return out


def test_api_creates_revisions_lists_and_describes(ctx: Context) -> None:
    one = create(ctx, AutoScalingConfigurationName="high-av", MaxConcurrency=50, MinSize=2, MaxSize=5)
    two = create(ctx, AutoScalingConfigurationName="high-av", MinSize=3, MaxSize=8)
    assert (one["AutoScalingConfigurationRevision"], two["AutoScalingConfigurationRevision"]) == (1, 2)
    assert one["AutoScalingConfigurationArn"].startswith(f"{BASE}/high-av/1/")
    assert (two["MaxConcurrency"], two["MinSize"], two["MaxSize"], two["Latest"]) == (100, 3, 8, True)
    described = api.describe_auto_scaling_configuration(
        ctx, {"AutoScalingConfigurationArn": f"{BASE}/high-av/1"}
    )
    assert described["AutoScalingConfiguration"]["Latest"] is False
    assert described["AutoScalingConfiguration"]["MaxConcurrency"] == 50
    latest = api.describe_auto_scaling_configuration(ctx, {"AutoScalingConfigurationArn": f"{BASE}/high-av"})
    assert latest["AutoScalingConfiguration"]["AutoScalingConfigurationRevision"] == 2

    def listed(**params: Any) -> list[tuple[str, int]]:
        out = api.list_auto_scaling_configurations(ctx, params)["AutoScalingConfigurationSummaryList"]
        return [(s["AutoScalingConfigurationName"], s["AutoScalingConfigurationRevision"]) for s in out]

    assert listed() == [(DEFAULT_NAME, 1), ("high-av", 2)]  # LatestOnly defaults to true
    assert listed(LatestOnly=False, AutoScalingConfigurationName="high-av") == [
        ("high-av", 1),
        ("high-av", 2),
    ]
    page = api.list_auto_scaling_configurations(ctx, {"LatestOnly": False, "MaxResults": 2})
    assert len(page["AutoScalingConfigurationSummaryList"]) == 2 and page["NextToken"]
    rest = api.list_auto_scaling_configurations(ctx, {"LatestOnly": False, "NextToken": page["NextToken"]})
    assert [s["AutoScalingConfigurationRevision"] for s in rest["AutoScalingConfigurationSummaryList"]] == [2]


def test_api_refusals(ctx: Context) -> None:
    with pytest.raises(AwsError) as bad:
        create(ctx, AutoScalingConfigurationName="high-av", MinSize=9, MaxSize=3)
    assert (
        bad.value.code == "InvalidRequestException"
        and "MinSize must be less than or equal" in bad.value.message
    )
    with pytest.raises(AwsError) as missing:
        api.describe_auto_scaling_configuration(ctx, {"AutoScalingConfigurationArn": f"{BASE}/nothing/1"})
    assert missing.value.code == "ResourceNotFoundException"
    with pytest.raises(AwsError) as default:
        api.delete_auto_scaling_configuration(
            ctx, {"AutoScalingConfigurationArn": f"{BASE}/{DEFAULT_NAME}/1"}
        )
    assert "You can't delete the default auto scaling configuration" in default.value.message
    with pytest.raises(AwsError) as unknown:
        services.create_service(ctx, service(AutoScalingConfigurationArn=f"{BASE}/nothing"))
    assert (
        unknown.value.message
        == f"The auto scaling configuration ARN you specified isn't valid. ARN: '{BASE}/nothing'"
    )


def test_api_delete_marks_inactive_and_refuses_a_revision_in_use(ctx: Context) -> None:
    create(ctx, AutoScalingConfigurationName="high-av", MinSize=2)
    create(ctx, AutoScalingConfigurationName="high-av", MinSize=3)
    svc = services.create_service(ctx, service(AutoScalingConfigurationArn=f"{BASE}/high-av/1"))["Service"]
    assert svc["AutoScalingConfigurationSummary"]["AutoScalingConfigurationRevision"] == 1
    used = api.describe_auto_scaling_configuration(ctx, {"AutoScalingConfigurationArn": f"{BASE}/high-av/1"})
    assert used["AutoScalingConfiguration"]["HasAssociatedService"] is True
    with pytest.raises(AwsError) as in_use:
        api.delete_auto_scaling_configuration(ctx, {"AutoScalingConfigurationArn": f"{BASE}/high-av/1"})
    assert "used by one or more App Runner services" in in_use.value.message
    arns = api.list_services_for_auto_scaling_configuration(
        ctx, {"AutoScalingConfigurationArn": f"{BASE}/high-av/1"}
    )
    assert arns["ServiceArnList"] == [svc["ServiceArn"]]
    gone = api.delete_auto_scaling_configuration(ctx, {"AutoScalingConfigurationArn": f"{BASE}/high-av"})
    shape = gone["AutoScalingConfiguration"]
    assert (shape["AutoScalingConfigurationRevision"], shape["Status"], shape["Latest"]) == (
        2,
        "INACTIVE",
        False,
    )
    assert "DeletedAt" in shape
    again = create(ctx, AutoScalingConfigurationName="high-av")
    assert again["AutoScalingConfigurationRevision"] == 3
    with pytest.raises(AwsError) as all_revisions:
        api.delete_auto_scaling_configuration(
            ctx, {"AutoScalingConfigurationArn": f"{BASE}/high-av/3", "DeleteAllRevisions": True}
        )
    assert "partial ARN ending with: .../name" in all_revisions.value.message


def test_update_service_to_an_arn_replaces_the_inline_block(ctx: Context) -> None:
    create(ctx, AutoScalingConfigurationName="high-av", MinSize=2)
    svc = services.create_service(ctx, service(AutoScalingConfiguration={"MinSize": 2}))["Service"]
    assert svc["AutoScalingConfigurationSummary"]["AutoScalingConfigurationName"] == "web-app-scaling"
    store: Store = ctx.store  # type: ignore[assignment]
    store.objects[("AppRunnerService", "web-app")]["status"] = {"Status": "RUNNING"}
    out = services.update_service(
        ctx, {"ServiceArn": svc["ServiceArn"], "AutoScalingConfigurationArn": f"{BASE}/high-av"}
    )
    assert "AutoScalingConfiguration" not in store.objects[("AppRunnerService", "web-app")]["spec"]
    assert out["Service"]["AutoScalingConfigurationSummary"]["AutoScalingConfigurationName"] == "high-av"


def test_update_default_moves_new_services_and_the_default_mark(ctx: Context) -> None:
    high = create(ctx, AutoScalingConfigurationName="high-av", MinSize=2)
    out = api.update_default_auto_scaling_configuration(
        ctx, {"AutoScalingConfigurationArn": f"{BASE}/high-av"}
    )
    assert out["AutoScalingConfiguration"]["IsDefault"] is True
    listed = api.list_auto_scaling_configurations(ctx, {})["AutoScalingConfigurationSummaryList"]
    assert {s["AutoScalingConfigurationName"]: s["IsDefault"] for s in listed} == {
        DEFAULT_NAME: False,
        "high-av": True,
    }
    svc = services.create_service(ctx, service())["Service"]  # no ARN: the default's latest revision
    assert (
        svc["AutoScalingConfigurationSummary"]["AutoScalingConfigurationArn"]
        == high["AutoScalingConfigurationArn"]
    )
    with pytest.raises(AwsError) as default:
        api.delete_auto_scaling_configuration(ctx, {"AutoScalingConfigurationArn": f"{BASE}/high-av/1"})
    assert "You can't delete the default auto scaling configuration" in default.value.message
    api.update_default_auto_scaling_configuration(
        ctx, {"AutoScalingConfigurationArn": f"{BASE}/{DEFAULT_NAME}"}
    )
    store: Store = ctx.store  # type: ignore[assignment]
    assert all(
        scaling.ANN_DEFAULT not in (o["metadata"].get("annotations") or {}) for o in store.objects.values()
    )
