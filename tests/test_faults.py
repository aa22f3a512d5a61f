"""A short fault run: every request answered 200 is handled by every consumer, whatever restarts.

The full run, with every scenario and then all of them mixed, is ``python -m bench.fault_run``
(docs/reliability.md); this one injects each fault once at a lower rate.
"""

from testbed.faults import SCENARIOS, lost_only_the_oldest, repeated_after_kill, run


def test_no_request_answered_200_is_lost_by_any_consumer_under_faults() -> None:
    answers, accounts = run(list(SCENARIOS), rate=40, settle=2, mixed=False)
    assert answers[200] > 200
    for name, account in accounts.items():
        assert account.lost == [], f"{name} lost {len(account.lost)} requests answered 200"
        assert account.dead_letters == 0, name
        assert account.duplicates == 0, f"{name} handled {account.duplicates} requests twice"


def test_a_bounded_shadow_that_overflows_loses_only_what_its_bound_dropped() -> None:
    _answers, accounts = run(["consumers-down"], rate=60, settle=1, mixed=False, shadow_bound=100)
    primary, shadow = accounts["primary"], accounts["shadow"]
    assert primary.lost == [] and primary.dead_letters == 0
    assert shadow.lost, "the shadow's queue should have overflowed its bound of 100 while it was down"
    assert shadow.unexplained == 0, "the shadow lost more than the oldest requests its bound dropped"
    assert shadow.dead_letters == 0, "dropped at the bound, not copied to the dead letters"


def test_the_accounting_tells_a_bound_dropping_the_oldest_from_any_other_loss() -> None:
    """Each request by when it was sent and answered: it reached the queue in between."""
    times = {"a": (0.0, 0.1), "b": (1.0, 1.1), "c": (2.0, 2.1), "d": (3.0, 3.1), "e": (3.05, 4.0)}
    assert lost_only_the_oldest(["a", "b"], {"c", "d", "e"}, times)
    assert lost_only_the_oldest(["a", "b", "d"], {"c", "e"}, times) is False  # c kept between drops
    assert lost_only_the_oldest(["a", "d"], {"e"}, times)  # e and d were in flight together


def test_the_accounting_tells_an_effect_repeated_after_a_kill_from_any_other_duplicate() -> None:
    """Only a request first handled just before its consumer was killed may be handled again: killed
    between the handler's effect and the ledger's line (docs/consumers.md, "Effect once")."""
    kill = 10.0
    handlings = [("in hand", 9.97), ("long done", 5.0), ("once", 9.0), ("in hand", 12.0), ("long done", 12.1)]
    assert repeated_after_kill(handlings, [kill]) == {"in hand"}
    assert repeated_after_kill(handlings, []) == set()
