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


def test_replicas_split_the_workspaces_each_posting_to_its_own_at_the_whole_pace() -> None:
    workspaces = [f"T{n}" for n in range(200)]
    first, second = Pacer(posts_per_minute=300, clock=Clock()), Pacer(posts_per_minute=300, clock=Clock())
    first.share_posts([11, 22], 11)
    second.share_posts([22, 11], 22)
    here = {team: (first.posts_here(team), second.posts_here(team)) for team in workspaces}
    assert all(mine != theirs for mine, theirs in here.values())  # each workspace has one poster
    assert 70 <= sum(mine for mine, _ in here.values()) <= 130  # about half each
    assert first.per_second("T1", "chat.postMessage") == 5.0  # at the workspace's whole pace

    third = Pacer(posts_per_minute=300, clock=Clock())
    third.share_posts([11, 22, 33], 33)
    first.share_posts([11, 22, 33], 11)
    moved = [team for team in workspaces if first.posts_here(team) != here[team][0]]
    assert moved and all(third.posts_here(team) for team in moved)  # only to the newcomer

    first.share_posts([11], 11)  # the others are gone
    assert all(first.posts_here(team) for team in workspaces)


def test_a_replica_that_cannot_tell_its_own_id_posts_everywhere_at_its_share_of_the_pace() -> None:
    pacer = Pacer(posts_per_minute=300, clock=Clock())
    pacer.reserve("T1", "chat.postMessage")
    pacer.share_posts([11, 22], None)  # its own session is reconnecting
    assert pacer.posts_here("T1") and pacer.posts_here("T2")
    assert pacer.per_second("T1", "chat.postMessage") == 2.5
    assert pacer.per_second("T2", "chat.postMessage") == 2.5  # a bucket made afterwards too
    assert pacer.per_second("T1", "chat.update") == 50 / 60  # the other methods are not shared
    pacer.share_posts([11, 22], 11)  # known again: its own workspaces, at the whole pace
    assert pacer.per_second("T1", "chat.postMessage") == 5.0
