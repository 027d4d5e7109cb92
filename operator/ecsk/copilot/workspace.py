"""Copilot's workspace on disk: `copilot/.workspace` and `copilot/<name>/manifest.yml`.

Like Copilot, commands find the workspace by walking up from the working directory to the first
directory holding `copilot/.workspace`; paths in manifests (`image.build`) are relative to the
directory that holds `copilot/` (the workspace root).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ecsk.core.copilot import workspace as fmt


class WorkspaceError(Exception):
    """No workspace, or it does not hold what was asked for."""


@dataclass(frozen=True)
class Workspace:
    root: Path
    app: str

    @property
    def copilot_dir(self) -> Path:
        return self.root / fmt.COPILOT_DIR

    def manifest_path(self, name: str) -> Path:
        return self.copilot_dir / name / fmt.MANIFEST_FILE

    def read_manifest(self, name: str) -> str:
        path = self.manifest_path(name)
        if not path.is_file():
            raise WorkspaceError(
                f"couldn't find a manifest for {name} at {path}: "
                f"run `ecsk copilot svc init --name {name}` first"
            )
        return path.read_text()

    def workloads(self) -> list[str]:
        """Every directory of `copilot/` that holds a manifest, sorted."""
        if not self.copilot_dir.is_dir():
            return []
        return sorted(p.parent.name for p in self.copilot_dir.glob(f"*/{fmt.MANIFEST_FILE}"))


def find(start: Path) -> Workspace | None:
    for here in [start.resolve(), *start.resolve().parents]:
        summary = here / fmt.COPILOT_DIR / fmt.SUMMARY_FILE
        if summary.is_file():
            app = fmt.summary_app(summary.read_text())
            if app:
                return Workspace(here, app)
    return None


def require(start: Path) -> Workspace:
    ws = find(start)
    if ws is None:
        raise WorkspaceError(
            "couldn't find an application associated with this workspace: "
            "run `ecsk copilot app init NAME` first"
        )
    return ws


def init(start: Path, app: str) -> tuple[Workspace, bool]:
    """Create `copilot/.workspace` naming `app` (False: it already did); refuses another app's."""
    ws = find(start)
    if ws is not None:
        if ws.app != app:
            raise WorkspaceError(
                f"this workspace is already registered with application {ws.app} "
                f"({ws.copilot_dir / fmt.SUMMARY_FILE})"
            )
        return ws, False
    root = start.resolve()
    (root / fmt.COPILOT_DIR).mkdir(parents=True, exist_ok=True)
    (root / fmt.COPILOT_DIR / fmt.SUMMARY_FILE).write_text(fmt.summary_text(app))
    return Workspace(root, app), True


def write_manifest(ws: Workspace, name: str, text: str) -> Path:
    path = ws.manifest_path(name)
    if path.exists():
        raise WorkspaceError(f"manifest {path} already exists: edit it, or delete it to start again")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def forget(ws: Workspace) -> bool:
    """Remove `copilot/.workspace` (manifests stay, as `copilot app delete` leaves them)."""
    summary = ws.copilot_dir / fmt.SUMMARY_FILE
    if summary.is_file():
        summary.unlink()
        return True
    return False
