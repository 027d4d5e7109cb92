"""ECR lifecycle policies: one test per documented rule of the evaluation algorithm, the guide's
worked examples, and the refusals (ECR's wording) of policies ECR does not accept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecsk.core.ecr.lifecycle import (
    DAY,
    Image,
    PolicyError,
    Rule,
    evaluate,
    parse_policy,
    pattern_matches,
    selects,
)

NOW = 1_800_000_000.0


def img(name: str, *tags: str, days: float) -> Image:
    return Image(digest=f"sha256:{name}", tags=tuple(tags), pushed_at=NOW - days * DAY)


def rule(priority: int, status: str, count: int, **kw: Any) -> dict[str, Any]:
    sel: dict[str, Any] = {"tagStatus": status, "countType": kw.pop("count_type", "imageCountMoreThan")}
    sel["countNumber"] = count
    if sel["countType"] == "sinceImagePushed":
        sel["countUnit"] = "days"
    sel.update(kw)
    return {
        "rulePriority": priority,
        "description": f"rule {priority}",
        "selection": sel,
        "action": {"type": "expire"},
    }


def policy(*rules: dict[str, Any]) -> str:
    return json.dumps({"rules": list(rules)})


def expired(text: str, images: list[Image]) -> list[tuple[str, int]]:
    return [
        (e.image.digest.removeprefix("sha256:"), e.rule) for e in evaluate(parse_policy(text), images, NOW)
    ]


# --- the algorithm, rule by rule -----------------------------------------------------------------


def test_image_count_more_than_keeps_the_newest_n() -> None:
    images = [img("a", days=5), img("b", days=3), img("c", days=1), img("d", days=4)]
    assert expired(policy(rule(1, "any", 2)), images) == [("a", 1), ("d", 1)]


def test_since_image_pushed_expires_images_older_than_n_days() -> None:
    images = [img("old", "v1", days=15), img("edge", "v2", days=13.9), img("new", "v3", days=1)]
    text = policy(rule(1, "any", 14, count_type="sinceImagePushed"))
    assert expired(text, images) == [("old", 1)]


def test_untagged_selects_only_images_without_tags() -> None:
    images = [img("u1", days=9), img("u2", days=8), img("t", "v1", days=10)]
    assert expired(policy(rule(1, "untagged", 1)), images) == [("u1", 1)]


def test_tagged_prefix_list_needs_every_prefix_on_some_tag() -> None:
    r = Rule(
        priority=1,
        tag_status="tagged",
        count_type="imageCountMoreThan",
        count_number=1,
        prefixes=("prod", "v"),
    )
    assert selects(r, img("a", "prod-1", "v2", days=1))
    assert not selects(r, img("b", "prod-1", days=1))
    assert not selects(r, img("c", days=1))  # untagged never matches a tagged rule


def test_tag_pattern_list_wildcards_match_whole_tags() -> None:
    assert pattern_matches("prod*", "prod") and pattern_matches("prod*", "prod-2")
    assert not pattern_matches("prod*", "preprod")
    assert pattern_matches("*test*1*2*3", "a-test-x1y2z3")
    assert pattern_matches("v1.*", "v1.2") and not pattern_matches("v1.*", "v1x2")  # `.` is literal
    r = Rule(1, "tagged", "imageCountMoreThan", 1, patterns=("prod*", "*-amd64"))
    assert selects(r, img("a", "prod-1", "build-amd64", days=1))
    assert not selects(r, img("b", "prod-1", days=1))


def test_any_selects_tagged_and_untagged_alike() -> None:
    images = [img("u", days=3), img("t", "x", days=2), img("n", "y", days=1)]
    assert expired(policy(rule(1, "any", 1)), images) == [("u", 1), ("t", 1)]


def test_rules_apply_in_priority_order_not_list_order() -> None:
    images = [img("a", "prod-1", days=3), img("b", "prod-2", days=2), img("c", "prod-3", days=1)]
    # Listed second but priority 1: it claims the prod images first, keeping two of them, and
    # the priority-5 rule may no longer expire them.
    text = policy(
        rule(5, "tagged", 1, tagPrefixList=["prod"], count_type="sinceImagePushed"),
        rule(1, "tagged", 2, tagPrefixList=["prod-"]),
    )
    assert expired(text, images) == [("a", 1)]


def test_image_matched_by_a_higher_rule_is_not_expired_by_a_lower_one() -> None:
    images = [img("keep", "release-1", days=100), img("x", "build-1", days=90)]
    text = policy(
        rule(1, "tagged", 9999, tagPatternList=["release-*"]),
        rule(2, "any", 14, count_type="sinceImagePushed"),
    )
    assert expired(text, images) == [("x", 2)]


def test_an_image_is_expired_by_one_rule_only() -> None:
    images = [
        img("a", "beta-1", "prod-1", days=10),
        img("b", "beta-2", "prod-2", days=9),
        img("c", "beta-3", "prod-3", days=8),
    ]
    text = policy(
        rule(1, "tagged", 1, tagPrefixList=["beta", "prod"]),
        rule(2, "tagged", 1, tagPrefixList=["beta"]),
    )
    # ECR guide, Example B: rule 1 marks A and B; rule 2 identifies them again but cannot mark them.
    assert expired(text, images) == [("a", 1), ("b", 1)]


def test_guide_example_a_lower_rule_counts_images_a_higher_rule_expired() -> None:
    images = [
        img("a", "beta-1", "prod-1", days=10),
        img("b", "beta-2", "prod-2", days=9),
        img("c", "beta-3", days=8),
    ]
    text = policy(
        rule(1, "tagged", 1, tagPrefixList=["prod"]),
        rule(2, "tagged", 1, tagPrefixList=["beta"]),
    )
    # Rule 1 marks A; rule 2 identifies A, B and C, would mark A and B, but A is marked and B met
    # rule 1's tagging requirements: only A expires.
    assert expired(text, images) == [("a", 1)]


def test_expired_images_still_count_for_lower_rules() -> None:
    images = [
        img("t1", "tmp-1", days=2),
        img("t2", "tmp-2", days=1),
        img("x", "v1", days=5),
        img("y", "v2", days=6),
    ]
    text = policy(rule(1, "tagged", 1, tagPrefixList=["tmp"]), rule(2, "any", 2))
    # Rule 2 keeps the two newest it identifies (t2 and t1, though rule 1 expired t1): x and y go.
    assert expired(text, images) == [("y", 2), ("x", 2), ("t1", 1)]


def test_count_ties_break_by_digest_so_runs_agree() -> None:
    images = [img("b", days=1), img("a", days=1), img("c", days=1)]
    # Equal push times: the smallest digest counts as newest, so every run keeps the same image.
    assert expired(policy(rule(1, "any", 1)), images) == [("b", 1), ("c", 1)]


# --- refusals, in ECR's words ------------------------------------------------------------------


def refused(text: str) -> str:
    with pytest.raises(PolicyError) as err:
        parse_policy(text)
    message = str(err.value)
    assert message.startswith(
        "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
        "'Lifecycle policy validation failure: "
    )
    return err.value.detail


def test_not_json_or_no_rules() -> None:
    assert refused("{nope") == "Could not map policyString into LifecyclePolicy."
    assert refused("[]") == "Could not map policyString into LifecyclePolicy."
    assert refused('{"rulez": []}') == 'object has missing required properties (["rules"])'


def test_missing_and_unknown_properties() -> None:
    assert refused(json.dumps({"rules": [{"rulePriority": 1}]})) == (
        'object has missing required properties (["action","selection"])'
    )
    bad = rule(1, "any", 1)
    bad["selection"]["tagFilter"] = "x"
    assert refused(policy(bad)) == (
        'object instance has properties which are not allowed by the schema: (["tagFilter"])'
    )


def test_enums_and_minimums() -> None:
    assert refused(policy(rule(1, "sometimes", 1))) == (
        'instance value ("sometimes") not found in enum (possible values: ["any","tagged","untagged"])'
    )
    assert refused(policy(rule(1, "any", 0))) == (
        "numeric instance is lower than the required minimum (minimum: 1, found: 0)"
    )
    assert refused(policy(rule(0, "any", 1))).startswith("numeric instance is lower")
    assert 'allowed: ["integer"]' in refused(policy(rule(1, "any", "3")))  # type: ignore[arg-type]
    r = rule(1, "any", 1)
    r["action"]["type"] = "archive"
    assert refused(policy(r)).startswith('instance value ("archive") not found in enum')


def test_count_unit_goes_with_since_image_pushed_only() -> None:
    r = rule(1, "any", 7, count_type="sinceImagePushed")
    del r["selection"]["countUnit"]
    assert refused(policy(r)) == "countUnit is required when countType is sinceImagePushed"
    assert refused(policy(rule(1, "any", 7, countUnit="days"))) == (
        "countUnit cannot be specified when countType is imageCountMoreThan"
    )
    assert refused(policy(rule(1, "any", 7, count_type="sinceImagePushed", countUnit="hours"))).startswith(
        'instance value ("hours") not found in enum'
    )


def test_tag_lists_follow_tag_status() -> None:
    assert refused(policy(rule(1, "tagged", 1))) == (
        "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED."
    )
    assert refused(policy(rule(1, "untagged", 1, tagPrefixList=["v"]))) == (
        "tagPrefixList and tagPatternList must be omitted when tagStatus=UNTAGGED."
    )
    assert "cannot both be specified" in refused(
        policy(rule(1, "tagged", 1, tagPrefixList=["v"], tagPatternList=["v*"]))
    )


def test_at_most_four_wildcards_per_pattern() -> None:
    parse_policy(policy(rule(1, "tagged", 1, tagPatternList=["*test*1*2*3", "test*1*2*3*"])))
    assert "maximum of 4 wildcards" in refused(
        policy(rule(1, "tagged", 1, tagPatternList=["test*1*2*3*4*5*6"]))
    )


def test_policy_level_rules() -> None:
    assert refused(policy(rule(1, "untagged", 1), rule(1, "tagged", 1, tagPrefixList=["v"]))) == (
        "Rule priorities must be unique."
    )
    assert refused(policy(rule(1, "any", 1), rule(2, "untagged", 1))) == (
        "Rule for tagStatus=ANY must have the lowest priority per storage class"
    )
    assert refused(policy(rule(1, "untagged", 1), rule(2, "untagged", 5))) == (
        "Only one rule can select Untagged images per storage class"
    )
    assert refused(
        policy(rule(1, "tagged", 1, tagPrefixList=["a", "b"]), rule(2, "tagged", 3, tagPrefixList=["b", "a"]))
    ) == ("The set of rules must contain a unique set of tag prefixes.")
