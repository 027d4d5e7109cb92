"""Copilot's workspace files: `copilot/.workspace` and the manifests `svc init` / `job init` write.

The workspace summary is Copilot's (`application: <name>`, internal/pkg/workspace), so a
directory initialised by `copilot app init` works with `ecsk copilot` and back. New manifests
are written in Copilot's manifest format with Copilot's defaults (256 CPU units and 512 MiB,
one task, exec and Service Connect on); the comments are ecsk's own.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from ecsk.core.copilot.fields import BACKEND, JOB, LBWS, RDWS, SUPPORTED_TYPES
from ecsk.core.copilot.manifest import ManifestError, problem

COPILOT_DIR = "copilot"
SUMMARY_FILE = ".workspace"
MANIFEST_FILE = "manifest.yml"
DEFAULT_PORT = 80


def summary_text(app: str) -> str:
    return yaml.safe_dump({"application": app}, sort_keys=False)


def summary_app(text: str) -> str | None:
    """The application a `.workspace` file names, or None when it names none."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    app = data.get("application") if isinstance(data, dict) else None
    return str(app) if app else None


def exposed_port(dockerfile: str) -> int | None:
    """The first `EXPOSE` port of a Dockerfile, as `copilot svc init` reads it."""
    for line in dockerfile.splitlines():
        m = re.match(r"^\s*EXPOSE\s+(\d+)", line, re.IGNORECASE)
        if m:
            return int(m.group(1))
    return None


_DOC_PAGE = {LBWS: "lb-web-service", BACKEND: "backend-service", RDWS: "rd-web-service", JOB: "scheduled-job"}


def manifest_text(
    kind: str,
    name: str,
    *,
    dockerfile: str | None = None,
    image: str | None = None,
    port: int | None = None,
    schedule: str | None = None,
) -> str:
    """A new manifest of `kind` for `name`, building `dockerfile` or running `image`."""
    if kind not in SUPPORTED_TYPES:
        raise ManifestError([problem("type", f"invalid manifest type: {kind}")])
    if (dockerfile is None) == (image is None):
        raise ManifestError([problem("image", 'must specify one of "build" and "location"')])
    img: dict[str, Any] = {"build": dockerfile} if dockerfile else {"location": image}
    doc: dict[str, Any] = {"name": name, "type": kind}
    if kind == JOB:
        doc["on"] = {"schedule": schedule or "@daily"}
        doc["image"] = img
        doc.update(cpu=256, memory=512)
    elif kind == RDWS:
        doc["image"] = {**img, "port": port or DEFAULT_PORT}
        doc.update(cpu=1024, memory=2048)
    else:
        if kind == LBWS:
            doc["http"] = {"path": "/"}
            img["port"] = port or DEFAULT_PORT
        elif port:
            img["port"] = port
        doc["image"] = img
        doc.update(cpu=256, memory=512, count=1, exec=True)
        if kind == LBWS or port:
            doc["network"] = {"connect": True}
    header = (
        f'# The manifest for the "{name}" {"job" if kind == JOB else "service"}, in AWS Copilot\'s format.\n'
        f"# Fields: https://aws.github.io/copilot-cli/docs/manifest/{_DOC_PAGE[kind]}/\n"
        "# Deploy with `ecsk copilot svc deploy`; fields ecsk cannot map are listed when you deploy.\n\n"
    )
    footer = (
        "\n# Per-environment overrides, merged over the values above:\n"
        "#environments:\n"
        "#  test:\n"
        "#    count: 2\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False) + ("" if kind == JOB else footer)
