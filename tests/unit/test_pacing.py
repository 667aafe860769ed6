"""The pacer: a burst, then calls spaced at the tier's rate, per workspace and method; a pause as
long as Slack says, and a halved rate when it gives no time."""

from bot.slack.pacing import DEFAULT_PAUSE, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def slots(pacer: Pacer, team: str, method: str, calls: int) -> list[float]:
    return [round(pacer.reserve(team, method), 3) for _ in range(calls)]


def test_posts_are_spaced_at_the_workspace_pace_after_a_short_burst() -> None:
    pacer = Pacer(posts_per_minute=300, clock=Clock())
    assert slots(pacer, "T1", "chat.postMessage", 5) == [0.0, 0.0, 0.2, 0.4, 0.6]
    assert slots(pacer, "T2", "chat.postMessage", 1) == [0.0]  # another workspace has its own


def test_tier_3_methods_allow_a_burst_of_fifteen_seconds_worth() -> None:
    pacer = Pacer(clock=Clock())
    waits = slots(pacer, "T1", "chat.update", 13)
    assert waits[:12] == [0.0] * 12 and waits[12] == 1.2
    assert pacer.reserve("T1", "auth.revoke") == 0.0  # not a paced method


def test_a_distributed_app_reads_history_once_a_minute() -> None:
    pacer = Pacer(distributed_app=True, clock=Clock())
    assert slots(pacer, "T1", "conversations.history", 2) == [0.0, 60.0]


def test_retry_after_pauses_the_bucket_and_rate_limited_halves_it_once() -> None:
    clock = Clock()
    pacer = Pacer(posts_per_minute=60, clock=clock)
    pacer.reserve("T1", "chat.postMessage")
    pacer.slow_down("T1", "chat.postMessage", 30)
    assert pacer.reserve("T1", "chat.postMessage") == 30.0
    assert pacer.per_second("T1", "chat.postMessage") == 1.0  # Slack said how long: the rate stays

    clock.now += 40
    pacer.slow_down("T1", "chat.postMessage", None)
    pacer.slow_down("T1", "chat.postMessage", None)  # the same news from a call in flight
    assert pacer.per_second("T1", "chat.postMessage") == 0.5
    assert pacer.reserve("T1", "chat.postMessage") == DEFAULT_PAUSE
    for _ in range(20):
        pacer.accepted("T1", "chat.postMessage")
    assert pacer.per_second("T1", "chat.postMessage") == 1.0


def test_without_pacing_ahead_a_bucket_appears_only_when_slack_says_to_slow_down() -> None:
    pacer = Pacer(clock=Clock(), ahead=False)
    assert slots(pacer, "T1", "chat.update", 20) == [0.0] * 20
    pacer.slow_down("T1", "chat.update", 5)
    assert pacer.reserve("T1", "chat.update") == 5.0


def test_replicas_share_each_workspace_posting_pace() -> None:
    pacer = Pacer(posts_per_minute=300, clock=Clock())
    pacer.reserve("T1", "chat.postMessage")
    pacer.share_posts(2)  # a second replica sends too: each keeps to half
    assert pacer.per_second("T1", "chat.postMessage") == 2.5
    assert pacer.per_second("T2", "chat.postMessage") == 2.5  # a bucket made afterwards too
    assert pacer.per_second("T1", "chat.update") == 50 / 60  # the other methods are the leader's
    pacer.share_posts(1)  # the other replica is gone
    assert pacer.per_second("T1", "chat.postMessage") == 5.0
