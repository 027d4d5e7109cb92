"""Parameter Store's rules, in its own wording: names, hierarchy depth, value sizes per tier,
allowed patterns, data types, labels. Pure functions: they raise AwsError or return issues."""

from __future__ import annotations

import re

from ecsk.api.errors import AwsError

NAME_RE = re.compile(r"^[a-zA-Z0-9_.\-/]+$")
MAX_ARN = 1011
MAX_LEVELS = 15
MAX_VERSIONS = 100
MAX_LABELS_PER_VERSION = 10
STANDARD_MAX = 4096
ADVANCED_MAX = 8192
TIERS = ("Standard", "Advanced", "Intelligent-Tiering")
DATA_TYPES = ("text", "aws:ec2:image", "aws:ssm:integration")
_AMI = re.compile(r"^ami-[0-9a-f]{8}([0-9a-f]{9})?$")
_LABEL = re.compile(r"^[a-zA-Z0-9_.\-]{1,100}$")

NAME_MESSAGE = (
    'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a '
    "path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a "
    "mix of letters, numbers and the following 3 symbols .-_"
)
PATH_MESSAGE = (
    "The parameter doesn't meet the parameter name requirements. The parameter name must begin "
    'with a forward slash "/". It can\'t be prefixed with "aws" or "ssm" (case-insensitive). It '
    "must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ "
    "(underscore). Special characters are not allowed. All sub-paths, if specified, must use the "
    'forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.'
)


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def check_name(name: str, arn_prefix_len: int) -> None:
    """PutParameter's name rules: characters, reserved prefixes, fully qualified paths, depth and
    the 1011-character limit on the whole ARN."""
    bare = name[1:] if name.startswith("/") else name
    if not NAME_RE.match(name) or bare.lower().startswith(("aws", "ssm")) or "//" in name:
        raise validation(NAME_MESSAGE)
    if "/" in name and not name.startswith("/"):
        raise validation("Parameter name must be a fully qualified name.")
    if name.endswith("/"):
        raise validation(NAME_MESSAGE)
    if name.count("/") > MAX_LEVELS:
        raise AwsError(
            "HierarchyLevelLimitExceededException",
            f"A hierarchy can have a maximum of {MAX_LEVELS} levels. For more information, see "
            "Requirements and constraints for parameter names in the AWS Systems Manager User Guide.",
        )
    if arn_prefix_len + len(bare) > MAX_ARN:
        raise validation(
            f"Parameter name, including the full parameter ARN, must be at most {MAX_ARN} characters."
        )


def check_path(path: str) -> None:
    """GetParametersByPath: `/` or a fully qualified path without reserved prefixes."""
    if path == "/":
        return
    bare = path.strip("/")
    if (
        not path.startswith("/")
        or not NAME_RE.match(path)
        or "//" in path
        or bare.lower().startswith(("aws", "ssm"))
    ):
        raise validation(PATH_MESSAGE)


def tier_for(value: str, asked: str | None, current: str | None) -> str:
    """The tier a value lands in: Intelligent-Tiering picks Standard unless the value needs more;
    an Advanced parameter never goes back to Standard (AWS's rule)."""
    tier = asked or current or "Standard"
    if tier == "Intelligent-Tiering":
        tier = "Advanced" if len(value) > STANDARD_MAX or current == "Advanced" else "Standard"
    if current == "Advanced" and tier == "Standard":
        raise validation(
            "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from "
            "the advanced-parameter tier to the standard-parameter tier. If necessary, you can "
            "delete the advanced parameter and recreate it as a standard parameter."
        )
    if tier == "Standard" and len(value) > STANDARD_MAX:
        raise validation(
            f"Standard tier parameters support a maximum parameter value of {STANDARD_MAX} characters. "
            "To create a larger parameter value, upgrade the parameter to use the advanced-parameter "
            "tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/"
            "userguide/parameter-store-advanced-parameters.html"
        )
    if len(value) > ADVANCED_MAX:
        raise validation(
            f"Advanced tier parameters support a maximum parameter value of {ADVANCED_MAX} characters."
        )
    return tier


def check_value(value: str, allowed_pattern: str | None, data_type: str) -> None:
    if allowed_pattern:
        try:
            pattern = re.compile(allowed_pattern)
        except re.error:
            raise AwsError(
                "InvalidAllowedPatternException", "The allowed pattern is not a valid regular expression."
            ) from None
        if not pattern.search(value):
            raise AwsError(
                "ParameterPatternMismatchException",
                f"Parameter value, cannot be validated against allowedPattern: {allowed_pattern}",
            )
    if data_type not in DATA_TYPES:
        raise validation(
            f"The following data type is not supported: {data_type} (Data type names are all lowercase.)"
        )
    if data_type == "aws:ec2:image" and not _AMI.match(value):
        raise validation(
            f"Parameter value {value!r} is not a valid AMI ID for data type aws:ec2:image "
            "(ami- followed by 8 or 17 hexadecimal characters)."
        )


def label_problem(label: str) -> bool:
    """True when AWS returns the label in InvalidLabels: reserved prefixes, a leading digit,
    characters outside letters, digits, `.`, `-`, `_`, or more than 100 characters."""
    return not _LABEL.match(label) or label[0].isdigit() or label.lower().startswith(("aws", "ssm"))
