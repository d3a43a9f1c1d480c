"""A client-side leaky bucket, the same shape as the portal's: a burst of `burst` requests,
then `rate` per second. Waiting sleeps (no busy loop), so a throttled push costs no CPU."""

from __future__ import annotations

import time
from typing import Callable


class LeakyBucket:
    def __init__(self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(1, burst)
        self.clock = clock
        self.sleep = sleep
        self.level = 0.0
        self.last = clock()
        self.waited = 0.0

    def _drain(self) -> None:
        now = self.clock()
        self.level = max(0.0, self.level - (now - self.last) * self.rate)
        self.last = now

    def acquire(self) -> None:
        """Wait until one more request fits, then count it."""
        self._drain()
        excess = self.level + 1 - self.capacity
        if excess > 0:
            delay = excess / self.rate
            self.sleep(delay)
            self.waited += delay
            self._drain()
        self.level += 1

    def full(self) -> None:
        """The server said the bucket is full: behave as if it were."""
        self._drain()
        self.level = float(self.capacity)
