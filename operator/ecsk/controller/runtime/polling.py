"""The level-based polling loop shared by the Fargate and capacity-provider controllers.

Both decide from the whole picture (pending pods, their nodes, the providers) rather than from
single events, so each pass recomputes everything and a missed event costs at most one interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ecsk.controller.kube.client import Kube, KubeError
from ecsk.controller.runtime.common import condition, issues_text, merge_conditions
from ecsk.core.models.errors import ValidationIssue, errors_of

log = logging.getLogger("ecsk.controller")


class PollingController:
    """`reconcile_once` every `interval` seconds until stopped; errors are logged, never fatal."""

    name = "poller"

    def __init__(
        self,
        kube: Kube,
        region: str = "us-east-1",
        interval: float = 1.0,
        namespaces: list[str] | None = None,
    ) -> None:
        self.kube = kube
        self.region = region
        self.interval = interval
        self.namespaces = namespaces or None
        """A namespaced operator handles only its namespaces' objects (and their nodes)."""
        self._warned: set[tuple[str, str]] = set()

    def reconcile_once(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _warn(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        """One Warning event per object and message: a Pending pod is re-examined every pass."""
        key = (str((obj.get("metadata") or {}).get("uid")), message)
        if key in self._warned:
            return
        self._warned.add(key)
        if len(self._warned) > 10000:
            self._warned.clear()
        self.kube.event(obj, reason, message, "Warning")

    def report_validity(self, body: dict[str, Any], issues: Sequence[ValidationIssue]) -> bool:
        """The object's Valid condition from `issues` (a write only when it changes) and, for a
        refusal, one Warning event; True when the object may be used. `body` takes the written
        status, so later patches of the same pass compare against it."""
        errors = errors_of(issues)
        message = f"ClientException: {issues_text(errors)}" if errors else "valid"
        conds = (body.get("status") or {}).get("conditions")
        reason = "ValidationFailed" if errors else "Valid"
        cond = condition(conds, "Valid", not errors, reason, message, body["metadata"].get("generation"))
        try:
            out = self.kube.patch_status(body, {"conditions": merge_conditions(conds, [cond])})
        except KubeError as exc:
            log.warning("%s: status of %s: %s", self.name, body["metadata"].get("name"), exc)
            out = None
        if out is not None:
            body["status"] = out.get("status") or {}
        if errors:
            self._warn(body, "ValidationFailed", message)
        return not errors

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.reconcile_once()
            except KubeError as exc:
                log.warning("%s pass: %s", self.name, exc)
            except Exception:
                log.exception("%s pass failed", self.name)
            stop.wait(self.interval)

    @classmethod
    def start(
        cls,
        kube: Kube,
        stop: threading.Event,
        region: str = "us-east-1",
        interval: float = 1.0,
        namespaces: list[str] | None = None,
    ) -> threading.Thread:
        """Run in a daemon thread until `stop` is set (used by the operator and tests)."""
        ctl = cls(kube, region=region, interval=interval, namespaces=namespaces)
        thread = threading.Thread(target=ctl.run, args=(stop,), name=f"ecsk-{cls.name}", daemon=True)
        thread.start()
        return thread
