"""ECR lifecycle policies: parsing with ECR's refusals, and the evaluation algorithm ECR documents.

The documented rules (Amazon ECR User Guide, "Lifecycle policies" and its examples), each kept by
a unit test in tests/unit/test_ecr_lifecycle.py:

- rules apply in `rulePriority` order, lowest first; priorities are unique; a `tagStatus: any`
  rule must have the highest priority; only one rule may select untagged images;
- `tagStatus`: `tagged` (needs `tagPrefixList` or `tagPatternList`, not both), `untagged`
  (neither), `any` (every image);
- `tagPrefixList` matches when every prefix starts one of the image's tags; `tagPatternList`
  when every pattern (`*` is any run of characters, at most four per pattern) matches one of
  them;
- `imageCountMoreThan`: images sorted newest first by push time, all past `countNumber`
  expire; `sinceImagePushed` (`countUnit: days`): images pushed more than `countNumber` days
  ago expire;
- an image is expired by exactly one rule or none; an image that matches the tagging
  requirements of a rule cannot be expired by a rule with a lower priority; a lower rule still
  *identifies* (counts) images marked by a higher one, as if they had not been expired, but
  never marks them again (the guide's Examples A and B are unit tests).

Pure: images in, the images to expire out; the API's preview and the scheduled run share it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

TAG_STATUSES = ("tagged", "untagged", "any")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed")
COUNT_UNITS = ("days",)
ACTIONS = ("expire",)
MAX_WILDCARDS = 4
"""ECR: "There is a maximum limit of four wildcards (*) per string"."""
DAY = 86400.0

_RULE_KEYS = ("rulePriority", "description", "selection", "action")
_RULE_REQUIRED = ("action", "rulePriority", "selection")
_SELECTION_KEYS = ("tagStatus", "tagPrefixList", "tagPatternList", "countType", "countUnit", "countNumber")
_SELECTION_REQUIRED = ("countNumber", "countType", "tagStatus")


class PolicyError(ValueError):
    """A lifecycle policy ECR would refuse; `str()` is ECR's whole message."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
            f"'Lifecycle policy validation failure: {detail}'"
        )
        self.detail = detail


@dataclass(frozen=True)
class Rule:
    priority: int
    tag_status: str
    count_type: str
    count_number: int
    prefixes: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Image:
    digest: str
    tags: tuple[str, ...]
    pushed_at: float
    """Epoch seconds."""


@dataclass(frozen=True)
class Expiry:
    image: Image
    rule: int
    """The rulePriority of the rule that expires it."""


# --- parsing ---------------------------------------------------------------------------------


def _names(keys: Iterable[str]) -> str:
    return "[" + ",".join(f'"{k}"' for k in sorted(keys)) + "]"


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PolicyError(
            f"instance type ({_json_type(value)}) does not match any allowed primitive type "
            '(allowed: ["object"])'
        )
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


def _keys(obj: Mapping[str, Any], allowed: Sequence[str], required: Sequence[str]) -> None:
    missing = [k for k in required if k not in obj]
    if missing:
        raise PolicyError(f"object has missing required properties ({_names(missing)})")
    extra = [k for k in obj if k not in allowed]
    if extra:
        raise PolicyError(
            f"object instance has properties which are not allowed by the schema: ({_names(extra)})"
        )


def _enum(value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        shown = json.dumps(value)
        raise PolicyError(f"instance value ({shown}) not found in enum (possible values: {_names(allowed)})")
    return value


def _integer(value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(
            f"instance type ({_json_type(value)}) does not match any allowed primitive type "
            '(allowed: ["integer"])'
        )
    if value < minimum:
        raise PolicyError(
            f"numeric instance is lower than the required minimum (minimum: {minimum}, found: {value})"
        )
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise PolicyError("array is too short: must have at least 1 elements but instance has 0 elements")
    for item in value:
        if not isinstance(item, str) or not item:
            raise PolicyError("tag prefixes and tag patterns must be non-empty strings")
    return tuple(value)


def _rule(raw: Any) -> Rule:
    obj = _object(raw)
    _keys(obj, _RULE_KEYS, _RULE_REQUIRED)
    action = _object(obj["action"])
    _keys(action, ("type",), ("type",))
    _enum(action["type"], ACTIONS)
    sel = _object(obj["selection"])
    _keys(sel, _SELECTION_KEYS, _SELECTION_REQUIRED)
    rule = Rule(
        priority=_integer(obj["rulePriority"], 1),
        tag_status=_enum(sel["tagStatus"], TAG_STATUSES),
        count_type=_enum(sel["countType"], COUNT_TYPES),
        count_number=_integer(sel["countNumber"], 1),
        prefixes=_strings(sel["tagPrefixList"]) if "tagPrefixList" in sel else (),
        patterns=_strings(sel["tagPatternList"]) if "tagPatternList" in sel else (),
        description=str(obj.get("description") or ""),
    )
    _check_selection(rule, sel)
    return rule


def _check_selection(rule: Rule, sel: Mapping[str, Any]) -> None:
    if rule.count_type == "sinceImagePushed":
        if "countUnit" not in sel:
            raise PolicyError("countUnit is required when countType is sinceImagePushed")
        _enum(sel["countUnit"], COUNT_UNITS)
    elif "countUnit" in sel:
        raise PolicyError("countUnit cannot be specified when countType is imageCountMoreThan")
    if rule.prefixes and rule.patterns:
        raise PolicyError("tagPrefixList and tagPatternList cannot both be specified in a rule")
    if rule.tag_status == "tagged" and not (rule.prefixes or rule.patterns):
        raise PolicyError("Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.")
    if rule.tag_status != "tagged" and (rule.prefixes or rule.patterns):
        status = rule.tag_status.upper()
        raise PolicyError(f"tagPrefixList and tagPatternList must be omitted when tagStatus={status}.")
    for pattern in rule.patterns:
        if pattern.count("*") > MAX_WILDCARDS:
            raise PolicyError(
                f"tagPatternList item '{pattern}' has more than the maximum of {MAX_WILDCARDS} wildcards (*)"
            )


def parse_policy(text: str) -> list[Rule]:
    """The rules of a policy, in evaluation order; PolicyError (ECR's message) when ECR refuses it."""
    try:
        doc = json.loads(text)
    except (TypeError, ValueError):
        raise PolicyError("Could not map policyString into LifecyclePolicy.") from None
    if not isinstance(doc, dict):
        raise PolicyError("Could not map policyString into LifecyclePolicy.")
    _keys(doc, ("rules",), ("rules",))
    if not isinstance(doc["rules"], list) or not doc["rules"]:
        raise PolicyError("array is too short: must have at least 1 elements but instance has 0 elements")
    rules = sorted((_rule(r) for r in doc["rules"]), key=lambda r: r.priority)
    _check_policy(rules)
    return rules


def _check_policy(rules: Sequence[Rule]) -> None:
    priorities = [r.priority for r in rules]
    if len(set(priorities)) != len(priorities):
        raise PolicyError("Rule priorities must be unique.")
    if any(r.tag_status == "any" for r in rules[:-1]):
        raise PolicyError("Rule for tagStatus=ANY must have the lowest priority per storage class")
    if sum(r.tag_status == "untagged" for r in rules) > 1:
        raise PolicyError("Only one rule can select Untagged images per storage class")
    seen: set[frozenset[str]] = set()
    for r in rules:
        key = frozenset(r.prefixes) if r.prefixes else frozenset()
        if r.prefixes and key in seen:
            raise PolicyError("The set of rules must contain a unique set of tag prefixes.")
        seen.add(key)


# --- evaluation ------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def pattern_matches(pattern: str, tag: str) -> bool:
    """`*` stands for any run of characters (also none); everything else is literal."""
    return _wildcard(pattern).fullmatch(tag) is not None


def selects(rule: Rule, image: Image) -> bool:
    """Whether the image meets the rule's tagging requirements."""
    if rule.tag_status == "any":
        return True
    if rule.tag_status == "untagged":
        return not image.tags
    if not image.tags:
        return False
    if rule.prefixes:
        return all(any(t.startswith(p) for t in image.tags) for p in rule.prefixes)
    return all(any(pattern_matches(p, t) for t in image.tags) for p in rule.patterns)


def _newest_first(images: Iterable[Image]) -> list[Image]:
    return sorted(images, key=lambda i: (-i.pushed_at, i.digest))


def _candidates(rule: Rule, selected: Sequence[Image], now: float) -> list[Image]:
    """The selected images the rule's count or age would expire, oldest first."""
    ordered = _newest_first(selected)
    if rule.count_type == "imageCountMoreThan":
        out = ordered[rule.count_number :]
    else:
        out = [i for i in ordered if now - i.pushed_at > rule.count_number * DAY]
    return out[::-1]


def evaluate(rules: Sequence[Rule], images: Sequence[Image], now: float) -> list[Expiry]:
    """The images the policy expires, each with the rule that expires it, oldest first."""
    marked: dict[str, Expiry] = {}
    claimed: set[str] = set()  # met the tagging requirements of a higher-priority rule
    for rule in sorted(rules, key=lambda r: r.priority):
        selected = [i for i in images if selects(rule, i)]
        for image in _candidates(rule, selected, now):
            if image.digest not in marked and image.digest not in claimed:
                marked[image.digest] = Expiry(image, rule.priority)
        claimed.update(i.digest for i in selected)
    return sorted(marked.values(), key=lambda e: (e.image.pushed_at, e.image.digest))
