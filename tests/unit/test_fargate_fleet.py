"""`ecsk cluster up` applying the fleet file's Fargate profiles, against a recording kubectl."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from ecsk.cluster import fargate_fleet
from ecsk.core.capacity.fleet import Fleet

NG = [{"name": "ng", "instanceTypes": ["m5.large"]}]


class FakeKubectl:
    """Answers like kubectl would: the CRD exists once applied; `get` lists `existing`."""

    def __init__(self, existing: list[str], crd: bool = True, fail: str = "") -> None:
        self.calls: list[tuple[tuple[str, ...], str | None]] = []
        self.existing, self.crd, self.fail = existing, crd, fail

    def __call__(
        self, *args: str, stdin: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        self.calls.append((args, stdin))
        out, rc = "", 0
        if args[0] == self.fail:
            rc = 1
        elif args[:2] == ("get", "crd"):
            rc = 0 if self.crd else 1
        elif args[0] == "get":
            out = "\n".join(self.existing)
        return subprocess.CompletedProcess(args, rc, out, "boom" if rc else "")

    def deleted(self) -> list[str]:
        return [f"{a[4]}/{a[2]}" for a, _ in self.calls if a[0] == "delete"]


def _fleet(*profiles: dict[str, Any]) -> Fleet:
    return Fleet.model_validate({"nodeGroups": NG, "fargateProfiles": list(profiles)})


def test_profiles_are_applied_with_their_crd_namespace_and_origin_label() -> None:
    kubectl = FakeKubectl(existing=["ops/fp-a", "default/fp-old"])
    fleet = _fleet({"name": "fp-a", "namespace": "ops", "selectors": [{"namespace": "batch"}]})
    assert fargate_fleet.apply(kubectl, fleet, lambda _m: None) == ["ops/fp-a"]
    applied = [json.loads(stdin) for args, stdin in kubectl.calls if args[0] == "apply" and stdin]
    assert applied[0]["kind"] == "CustomResourceDefinition"
    items = applied[1]["items"]
    assert [i["kind"] for i in items] == ["Namespace", "FargateProfile"]
    assert items[1]["metadata"]["labels"] == {fargate_fleet.ORIGIN_LABEL: fargate_fleet.ORIGIN_VALUE}
    assert kubectl.deleted() == ["default/fp-old"]  # removed from the file: removed from the cluster


def test_no_profiles_prunes_old_ones_and_skips_a_missing_crd() -> None:
    kubectl = FakeKubectl(existing=["default/fp-old"])
    assert fargate_fleet.apply(kubectl, _fleet(), lambda _m: None) == []
    assert kubectl.deleted() == ["default/fp-old"]
    assert not [a for a, _ in kubectl.calls if a[0] == "apply"]
    never = FakeKubectl(existing=[], crd=False)
    assert fargate_fleet.apply(never, _fleet(), lambda _m: None) == []
    assert [a[:2] for a, _ in never.calls] == [("get", "crd")]


def test_kubectl_failures_are_reported() -> None:
    fleet = _fleet({"name": "fp-a", "selectors": [{"namespace": "batch"}]})
    with pytest.raises(fargate_fleet.FargateFleetError, match="boom"):
        fargate_fleet.apply(FakeKubectl(existing=[], fail="apply"), fleet, lambda _m: None)
