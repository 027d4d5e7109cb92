"""SigV4: read the Authorization header, and (strict mode) check the signature with botocore's signer.

By default any credentials are accepted, as a local emulator should; the header is still parsed
so a malformed one is refused with AWS's error. In strict mode the access key must be one of the
configured keys and the signature must match what botocore computes for the same request: the
crypto and the canonical request are botocore's, not a second implementation that could drift.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ecsk.api.errors import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 15 * 60
"""AWS refuses a request whose X-Amz-Date is more than 15 minutes off."""

_PART = re.compile(r"(\w+)=([^,\s]*)")
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)
UNKNOWN_KEY = "The security token included in the request is invalid."


@dataclass(frozen=True)
class Authorization:
    """The parts of `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...`."""

    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(header: str) -> Authorization:
    """The header's parts, or IncompleteSignatureException naming what is missing (AWS's wording)."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AwsError("IncompleteSignatureException", f"Unsupported AWS 'algorithm': '{algorithm}'")
    parts = dict(_PART.findall(rest))
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not parts.get(k)]
    if missing:
        raise AwsError(
            "IncompleteSignatureException",
            " ".join(f"Authorization header requires '{k}' parameter." for k in missing)
            + f" Authorization={header.strip()}",
        )
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not scope[0]:
        raise AwsError(
            "IncompleteSignatureException",
            f"Credential should be scoped to a valid Region, not '{parts['Credential']}'. ",
        )
    return Authorization(
        access_key=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=tuple(h.strip().lower() for h in parts["SignedHeaders"].split(";") if h.strip()),
        signature=parts["Signature"],
    )


def expected_signature(
    auth: Authorization,
    secret_key: str,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
) -> str:
    """The signature botocore computes for this request with `secret_key` (canonical request,
    string to sign and key derivation all from botocore.auth.SigV4Auth)."""
    lower = {k.lower(): v for k, v in headers.items()}
    signed = {name: lower.get(name, "") for name in auth.signed_headers}
    host = lower.get("host", "localhost")
    request = AWSRequest(method=method, url=f"http://{host}{path}", data=body, headers=signed)
    request.context["timestamp"] = lower.get("x-amz-date", "")
    signer = SigV4Auth(Credentials(auth.access_key, secret_key), auth.service, auth.region)
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))


def _check_date(headers: Mapping[str, str], now: datetime) -> None:
    stamp = next((v for k, v in headers.items() if k.lower() == "x-amz-date"), "")
    try:
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise AwsError(
            "IncompleteSignatureException", "Authorization header requires existence of a 'X-Amz-Date'."
        ) from None
    if abs((now - when).total_seconds()) > MAX_SKEW_SECONDS:
        raise AwsError(
            "InvalidSignatureException",
            f"Signature expired: {stamp} is now earlier than "
            f"{(now.replace(microsecond=0)).strftime('%Y%m%dT%H%M%SZ')} (with 15 min skew allowed).",
        )


def verify(
    header: str | None,
    keys: Mapping[str, str] | None,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime | None = None,
) -> Authorization | None:
    """Check a request's SigV4 Authorization header; `keys` None means accept any credentials.

    Returns the parsed header (None when absent and not required)."""
    if not header:
        if keys is None:
            return None
        raise AwsError("MissingAuthenticationTokenException", "Missing Authentication Token")
    auth = parse_authorization(header)
    if keys is None:
        return auth
    secret = keys.get(auth.access_key)
    if secret is None:
        raise AwsError("UnrecognizedClientException", UNKNOWN_KEY)
    _check_date(headers, now or datetime.now(UTC))
    want = expected_signature(auth, secret, method, path, headers, body)
    if not hmac.compare_digest(want, auth.signature):
        raise AwsError("InvalidSignatureException", BAD_SIGNATURE)
    return auth


def parse_keys(text: str) -> dict[str, str]:
    """`AKID:SECRET,AKID2:SECRET2` (env ECSK_API_ACCESS_KEYS / --access-key) -> {AKID: SECRET}."""
    keys: dict[str, str] = {}
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        akid, sep, secret = item.partition(":")
        if not sep or not akid or not secret:
            raise ValueError(f"access key {item!r} is not ACCESS_KEY_ID:SECRET_ACCESS_KEY")
        keys[akid] = secret
    return keys
