"""A short fault run: every request answered 200 is handled by every consumer, whatever restarts.

The full run, with every scenario and then all of them mixed, is ``python -m bench.fault_run``
(docs/reliability.md); this one injects each fault once at a lower rate.
"""

from testbed.faults import SCENARIOS, run


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
