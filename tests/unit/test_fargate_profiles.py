"""Fargate profiles: selector limits, wildcards, label matching and the alphabetical tie-break."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ecsk.core.capacity.fargate_profiles import (
    FargateProfile,
    glob_match,
    matching_profile,
    profile_name,
    selector_matches,
)


def _profile(*selectors: dict[str, object]) -> FargateProfile:
    return FargateProfile.model_validate({"selectors": list(selectors)})


@pytest.mark.parametrize(
    ("glob", "value", "ok"),
    [
        ("prod", "prod", True),
        ("prod", "prod2", False),
        ("prod-*", "prod-eu", True),
        ("prod-*", "prod-", True),
        ("prod-*", "dev-prod-x", False),
        ("team-?", "team-a", True),
        ("team-?", "team-ab", False),
        ("*", "anything", True),
        ("a.b", "axb", False),  # regex characters are literal
        ("*-jobs", "batch-jobs", True),
    ],
)
def test_glob_match(glob: str, value: str, ok: bool) -> None:
    assert glob_match(glob, value) is ok


def test_namespace_is_required_and_selectors_are_bounded() -> None:
    with pytest.raises(ValidationError):
        FargateProfile.model_validate({"selectors": [{"labels": {"a": "b"}}]})
    with pytest.raises(ValidationError):
        FargateProfile.model_validate({"selectors": []})
    with pytest.raises(ValidationError):
        FargateProfile.model_validate({"selectors": [{"namespace": f"n{i}"} for i in range(6)]})
    assert (
        len(
            FargateProfile.model_validate({"selectors": [{"namespace": f"n{i}"} for i in range(5)]}).selectors
        )
        == 5
    )


def test_at_most_five_labels_per_selector() -> None:
    with pytest.raises(ValidationError):
        _profile({"namespace": "a", "labels": {f"k{i}": "v" for i in range(6)}})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        FargateProfile.model_validate({"selectors": [{"namespace": "a"}], "clusterNam": "x"})


def test_labels_must_all_match() -> None:
    sel = _profile({"namespace": "prod", "labels": {"app": "web", "tier": "fr*"}}).selectors[0]
    assert selector_matches(sel, "prod", {"app": "web", "tier": "frontend", "x": "y"})
    assert not selector_matches(sel, "prod", {"app": "web"})
    assert not selector_matches(sel, "prod", {"app": "api", "tier": "frontend"})
    assert not selector_matches(sel, "dev", {"app": "web", "tier": "frontend"})


def test_alphabetically_first_matching_profile_wins() -> None:
    profiles = [
        ("zeta", _profile({"namespace": "*"})),
        ("beta", _profile({"namespace": "prod-*"})),
        ("alpha", _profile({"namespace": "dev"}, {"namespace": "prod-eu", "labels": {"app": "x"}})),
    ]
    assert matching_profile(profiles, "prod-eu", {"app": "x"}) == "alpha"
    assert matching_profile(profiles, "prod-eu", {}) == "beta"
    assert matching_profile(profiles, "other", {}) == "zeta"
    assert matching_profile(profiles[1:], "other", {}) is None


def test_profile_name_prefers_the_eks_field() -> None:
    p = FargateProfile.model_validate({"fargateProfileName": "fp-eks", "selectors": [{"namespace": "a"}]})
    assert profile_name({"metadata": {"name": "obj"}}, p) == "fp-eks"
    assert profile_name({"metadata": {"name": "obj"}}, _profile({"namespace": "a"})) == "obj"
