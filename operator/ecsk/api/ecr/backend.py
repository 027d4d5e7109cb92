"""The image data behind the ECR API: the Distribution registry's HTTP API, plus its storage layout.

HTTP does what the registry does (manifests in and out, tag and manifest deletes, which keep the
registry's own bookkeeping right). What the distribution API cannot list, the filesystem driver's
layout shows: every manifest revision of a repository (untagged ones too, which ListImages and
lifecycle rules for untagged images need), the tag each `current/link` names, and the time a
revision was linked (ECR's imagePushedAt). That layout (`docker/registry/v2/repositories/<name>/
_manifests/{revisions,tags}`) is the one Distribution has kept since registry 2.0.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecsk.api.errors import AwsError
from ecsk.core.ecr.lifecycle import Image

log = logging.getLogger("ecsk.api.ecr")

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
LIST_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)
TIMEOUT = 10.0


StoredImage = Image
"""An image as the registry stores it: the core's lifecycle `Image` (digest, tags, pushed_at: epoch
seconds the manifest revision was linked into the repository), so lifecycle rules evaluate what
the registry lists without a conversion."""


@dataclass(frozen=True)
class Manifest:
    body: bytes
    media_type: str
    digest: str

    def json(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.body)
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}


class RegistryError(Exception):
    """The registry refused a request: its OCI error code (MANIFEST_BLOB_UNKNOWN, ...) and text."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


def unavailable() -> AwsError:
    return AwsError("ServerException", "ecsk's image registry is unavailable; retry later.", 500)


class Registry:
    def __init__(self, url: str, storage: str | Path) -> None:
        self.url = url.rstrip("/")
        self.storage = Path(storage)

    # --- the storage layout (listing) -----------------------------------------------------------

    def _manifests(self, repo: str) -> Path:
        return self.storage / "docker" / "registry" / "v2" / "repositories" / repo / "_manifests"

    def images(self, repo: str) -> list[StoredImage]:
        """Every manifest of the repository with its tags, untagged ones included."""
        root = self._manifests(repo)
        tags: dict[str, list[str]] = {}
        for tag, digest in self._tags(root):
            tags.setdefault(digest, []).append(tag)
        out = []
        for link in sorted((root / "revisions" / "sha256").glob("*/link")):
            try:
                digest = link.read_text().strip()
                pushed = link.stat().st_mtime
            except OSError:
                continue  # deleted while listing
            out.append(StoredImage(digest, tuple(sorted(tags.get(digest, []))), pushed))
        return out

    @staticmethod
    def _tags(root: Path) -> Iterator[tuple[str, str]]:
        for current in (root / "tags").glob("*/current/link"):
            try:
                yield current.parent.parent.name, current.read_text().strip()
            except OSError:
                continue

    # --- HTTP --------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(f"{self.url}{path}", data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                return int(resp.status), dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), dict(exc.headers.items()), exc.read()
        except (urllib.error.URLError, OSError) as exc:
            log.warning("image registry unreachable: %s %s: %s", method, path, exc)
            raise unavailable() from None

    @staticmethod
    def _path(repo: str, ref: str) -> str:
        return f"/v2/{repo}/manifests/{urllib.parse.quote(ref, safe=':')}"

    def manifest(self, repo: str, ref: str, accept: tuple[str, ...] = MANIFEST_TYPES) -> Manifest | None:
        status, headers, data = self._request(
            "GET", self._path(repo, ref), headers={"Accept": ", ".join(accept)}
        )
        if status == 404:
            return None
        if status != 200:
            raise _error(status, data)
        media = _header(headers, "Content-Type").split(";")[0].strip()
        return Manifest(data, media, _header(headers, "Docker-Content-Digest"))

    def put_manifest(self, repo: str, ref: str, body: bytes, media_type: str) -> str:
        """Store a manifest under a tag or digest; returns its digest."""
        status, headers, data = self._request(
            "PUT", self._path(repo, ref), body=body, headers={"Content-Type": media_type}
        )
        if status not in (200, 201):
            raise _error(status, data)
        return _header(headers, "Docker-Content-Digest")

    def delete(self, repo: str, ref: str) -> bool:
        """Delete a tag (the manifest stays) or a manifest by digest (its tags go with it)."""
        status, _headers, data = self._request("DELETE", self._path(repo, ref))
        if status == 404:
            return False
        if status != 202:
            raise _error(status, data)
        return True

    def size(self, repo: str, manifest: Manifest) -> int:
        """ECR's imageSizeInBytes: the image's (compressed) layers; for a manifest list, the
        largest of the images it lists."""
        doc = manifest.json()
        if manifest.media_type in LIST_TYPES or "manifests" in doc:
            sizes = []
            for entry in doc.get("manifests") or []:
                child = self.manifest(repo, str(entry.get("digest") or ""))
                if child is not None and child.media_type not in LIST_TYPES:
                    sizes.append(self.size(repo, child))
            return max(sizes, default=0)
        return sum(int(layer.get("size") or 0) for layer in doc.get("layers") or [])


def _header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


def _error(status: int, data: bytes) -> RegistryError:
    try:
        first = (json.loads(data).get("errors") or [{}])[0]
    except (ValueError, AttributeError, IndexError):
        first = {}
    if status >= 500:
        log.warning("image registry error %s: %s", status, data[:300])
        raise unavailable()
    return RegistryError(status, str(first.get("code") or "UNKNOWN"), str(first.get("message") or ""))
