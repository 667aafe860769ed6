"""Work that arrives side by side, done together: group commit, as databases do for their log.

Many rating taps come at once when a round goes out, each wanting a short transaction of its own.
Their cost is mostly per transaction and per statement (round trips, the driver, the ORM), not per
row. So the first caller that finds nobody working leads: it takes every item waiting, its own
included, and does them in one call of `work`. Callers that arrive meanwhile wait, and when the
leader is done the first of them leads the next batch with everything that has piled up. Alone, a
caller does its own item at once: a batch of one, no waiting and no thread of its own.

If a batch fails, each of its items is done again alone, so an item that fails only fails its own
caller; the others get their results as if they had come one by one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Waiting(Generic[Item, Result]):
    """One caller's item, and how it ended: its result or its error, or word that it leads next."""

    def __init__(self, item: Item) -> None:
        self.item = item
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.done = False
        self.woken = threading.Event()  # set when done, or when this caller is to lead


class GroupCommit(Generic[Item, Result]):
    """`group(item)` returns `work([item, ...])`'s result for that item; `work` gets, in the order they
    came, the items of callers waiting together, and returns one result for each, in that order."""

    def __init__(self, work: Callable[[Sequence[Item]], Sequence[Result]]) -> None:
        self._work = work
        self._lock = threading.Lock()
        self._waiting: list[_Waiting[Item, Result]] = []
        self._leading = False

    @property
    def waiting(self) -> int:
        """How many callers wait for the batch under way to end."""
        with self._lock:
            return len(self._waiting)

    def __call__(self, item: Item) -> Result:
        mine: _Waiting[Item, Result] = _Waiting(item)
        with self._lock:
            self._waiting.append(mine)
            leads = not self._leading
            self._leading = True
        if not leads:
            mine.woken.wait()
        if not mine.done:  # this caller leads: its own item is among those waiting
            self._lead()
        if mine.error is not None:
            raise mine.error
        return mine.result  # type: ignore[return-value]

    def _lead(self) -> None:
        with self._lock:
            batch, self._waiting = self._waiting, []
        try:
            self._do(batch)
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting[0].woken.set()  # the next leader; `_leading` stays True
                else:
                    self._leading = False
            for waiting in batch:
                waiting.done = True
                waiting.woken.set()

    def _do(self, batch: list[_Waiting[Item, Result]]) -> None:
        try:
            results = self._work([waiting.item for waiting in batch])
        except Exception as error:
            if len(batch) == 1:
                batch[0].error = error
                return
            for waiting in batch:  # one at a time: an item's failure is its own caller's only
                self._do([waiting])
            return
        for waiting, result in zip(batch, results, strict=True):
            waiting.result = result
