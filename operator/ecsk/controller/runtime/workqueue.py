"""A keyed work queue (controller-runtime style): one reconcile per object at a time, bursts coalesced.

kopf's timers and daemons put a finalizer on every object; the operator needs neither, only
"reconcile this object soon". Watch events and periodic resyncs add keys here; a key added many
times while queued runs once, a key added while being reconciled runs again right after, and
failures back off exponentially per key.

Urgent keys (an object whose spec nobody has reconciled yet) run before the others: while 2,000
services start, the periodic passes of those already rolling out would otherwise keep the new
ones waiting for their Deployments (bench/scale_bench.py), though only the new ones change
what the cluster runs.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    def __init__(self, max_backoff: float = 60.0) -> None:
        self._cv = threading.Condition()
        self._queue: deque[K] = deque()
        self._urgent: deque[K] = deque()
        self._prefer: set[K] = set()
        """Keys asked for urgently since they were last handed out (served from `_urgent`)."""
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._delayed: list[tuple[float, int, K]] = []
        self._coalescing: set[K] = set()
        self._due: dict[K, float] = {}
        """Earliest pending `add_after` wake-up per key: a later one is dropped, not queued (the
        pass the earlier one runs asks for its own next wake-up). Without it every pass of a
        settled service stacked one more hour-long timer (stopped-task expiry) on the heap."""
        self._failures: dict[K, int] = {}
        self._seq = itertools.count()
        self._shutdown = False
        self._max_backoff = max_backoff

    def _add_locked(self, key: K, urgent: bool = False) -> None:
        if self._shutdown:
            return
        if urgent and key not in self._prefer:
            self._prefer.add(key)
            if key not in self._processing:  # else `done` queues it (urgently)
                self._urgent.append(key)  # a copy left in `_queue` is skipped when reached
                self._dirty.add(key)
                self._cv.notify()
                return
        if key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._cv.notify()

    def add(self, key: K, urgent: bool = False) -> None:
        with self._cv:
            self._add_locked(key, urgent)

    def add_after(self, key: K, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        when = time.monotonic() + delay
        with self._cv:
            due = self._due.get(key)
            if due is not None and due <= when:
                return
            self._due[key] = when
            heapq.heappush(self._delayed, (when, next(self._seq), key))
            self._cv.notify()

    def add_coalesced(self, key: K, delay: float) -> None:
        """Run `key` `delay` seconds from now, folding every further call until then into that run.

        For watch events on children: a service's pods change state dozens of times while it
        starts, and one pass per burst says the same as one per event while leaving the workers
        free for services that have no Deployment yet."""
        with self._cv:
            if key in self._coalescing or key in self._dirty:
                return
            self._coalescing.add(key)
            heapq.heappush(self._delayed, (time.monotonic() + delay, next(self._seq), key))
            self._cv.notify()

    def add_rate_limited(self, key: K) -> float:
        with self._cv:
            n = self._failures.get(key, 0) + 1
            self._failures[key] = n
        delay = min(self._max_backoff, 0.5 * 2 ** (n - 1))
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        with self._cv:
            self._failures.pop(key, None)

    def get(self) -> K | None:
        """Blocks until a key is due; None once the queue is shut down."""
        with self._cv:
            while True:
                if self._shutdown:
                    return None
                now = time.monotonic()
                while self._delayed and self._delayed[0][0] <= now:
                    when, _, key = heapq.heappop(self._delayed)
                    if self._due.get(key) == when:
                        del self._due[key]
                    self._coalescing.discard(key)
                    self._add_locked(key)
                for queue in (self._urgent, self._queue):
                    while queue:
                        key = queue.popleft()
                        if key not in self._dirty or key in self._processing:
                            continue  # the copy of a key handed out already from the other queue
                        self._processing.add(key)
                        self._dirty.discard(key)
                        self._prefer.discard(key)
                        return key
                timeout = self._delayed[0][0] - now if self._delayed else None
                self._cv.wait(timeout)

    def done(self, key: K) -> None:
        with self._cv:
            self._processing.discard(key)
            if key in self._prefer:
                self._dirty.add(key)
                self._urgent.append(key)
                self._cv.notify()
            elif key in self._dirty:
                self._queue.append(key)
                self._cv.notify()

    def shut_down(self) -> None:
        with self._cv:
            self._shutdown = True
            self._cv.notify_all()

    def __len__(self) -> int:
        with self._cv:
            return len(self._dirty - self._processing) + len(self._delayed)
