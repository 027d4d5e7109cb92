"""AWS-shaped errors: the `__type` the SDKs map to exception classes, and the HTTP status AWS sends.

botocore reads the error code from `__type` (or the `x-amzn-ErrorType` header) and retries on
5xx and on throttling codes, so the status matters as much as the name.
"""

from __future__ import annotations

from typing import Any

# Status codes AWS JSON services send for the common framework errors.
STATUS: dict[str, int] = {
    "SerializationException": 400,
    "UnknownOperationException": 400,
    "ValidationException": 400,
    "InvalidParameterException": 400,
    "ClientException": 400,
    "MissingAuthenticationTokenException": 403,
    "IncompleteSignatureException": 400,
    "UnrecognizedClientException": 400,
    "InvalidSignatureException": 403,
    "AccessDeniedException": 400,
    "RequestEntityTooLargeException": 413,
    "ServerException": 500,
    "InternalFailure": 500,
    "ServiceUnavailableException": 503,
}


class AwsError(Exception):
    """An error the client sees as `botocore.exceptions.ClientError` with this code and message."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status if status is not None else STATUS.get(code, 400)

    def body(self) -> dict[str, Any]:
        return {"__type": self.code, "message": self.message}


def client_error(message: str) -> AwsError:
    return AwsError("ClientException", message)


def invalid_parameter(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def from_prefixed(text: str, default: str = "ClientException") -> AwsError:
    """`"ClientException: Unable to describe task definition."` (how the core words its refusals,
    the same text the operator puts in conditions) -> the AwsError with that code."""
    head, sep, rest = text.partition(": ")
    if sep and head.endswith("Exception") and head.isalnum():
        return AwsError(head, rest)
    return AwsError(default, text)
