"""Group commit: callers that come while a batch is under way are done together next, each gets its
own result, and one item's failure is its own caller's only."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.services.group_commit import GroupCommit


class Doubling:
    """Work that doubles each item, records its batches, and can be held inside its first batch."""

    def __init__(self, hold_first: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.inside, self.go_on = threading.Event(), threading.Event()
        if not hold_first:
            self.go_on.set()

    def __call__(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.inside.set()
            assert self.go_on.wait(10)
        if any(item < 0 for item in items):
            raise ValueError(f"no negative items: {items}")
        return [2 * item for item in items]


def wait_for(group: GroupCommit, waiting: int) -> None:
    deadline = time.monotonic() + 10
    while group.waiting < waiting:
        assert time.monotonic() < deadline, f"{group.waiting} waiting, not {waiting}"
        time.sleep(0.001)


def test_a_caller_alone_is_done_at_once_in_its_own_thread():
    work = Doubling()
    group = GroupCommit(work)
    assert [group(1), group(2)] == [2, 4]
    assert work.batches == [[1], [2]]
    assert group.waiting == 0


def during_the_first_batch(pool: ThreadPoolExecutor, work: Doubling, group: GroupCommit, items: list[int]):
    """The first item's call, held inside its batch while the others' calls come and wait, then let go."""
    first = pool.submit(group, items[0])
    assert work.inside.wait(10)
    later = []
    for item in items[1:]:
        later.append(pool.submit(group, item))
        wait_for(group, len(later))
    work.go_on.set()
    return [first, *later]


def test_callers_that_come_during_a_batch_are_done_together_next_each_with_its_own_result():
    work = Doubling(hold_first=True)
    group = GroupCommit(work)
    with ThreadPoolExecutor(max_workers=4) as pool:
        calls = during_the_first_batch(pool, work, group, [1, 2, 3, 4])
        assert [call.result(10) for call in calls] == [2, 4, 6, 8]
    assert work.batches == [[1], [2, 3, 4]]
    assert group.waiting == 0
    assert group(5) == 10  # nobody leads any more: the next caller leads at once


def test_a_failed_batch_is_done_again_one_item_at_a_time_and_fails_only_its_own_caller():
    work = Doubling(hold_first=True)
    group = GroupCommit(work)
    with ThreadPoolExecutor(max_workers=4) as pool:
        first, two, minus_three, four = during_the_first_batch(pool, work, group, [1, 2, -3, 4])
        assert [first.result(10), two.result(10), four.result(10)] == [2, 4, 8]
        with pytest.raises(ValueError, match="no negative items"):
            minus_three.result(10)
    assert work.batches == [[1], [2, -3, 4], [2], [-3], [4]]


def test_many_callers_at_once_each_get_their_own_result_and_leave_nobody_waiting():
    work = Doubling()
    group = GroupCommit(work)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(group, range(2000)))
    assert results == [2 * item for item in range(2000)]
    assert sorted(item for batch in work.batches for item in batch) == list(range(2000))
    assert group.waiting == 0
