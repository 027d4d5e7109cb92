"""The label keys every room of the core agrees on (what pods of a revision or of a forced
deployment carry). Kept here, below translate and services alike, so the rollout bookkeeping
(`core.services`) and the translation (`core.translate`) read the same keys without importing
each other; `core.translate.names` re-exports them with the rest of the naming rules."""

from __future__ import annotations

GROUP = "ecs.ecsk.io"
LABEL_REVISION = f"{GROUP}/revision"
LABEL_DEPLOYMENT_TOKEN = f"{GROUP}/deployment-token"
"""On a service's pod template: which forced deployment its pods belong to (absent: none yet)."""
