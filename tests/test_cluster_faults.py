"""A short cluster fault run: on three nodes, every request answered 200 is handled by every consumer
when two of the three are killed for 10 s (among them the node the gateway and the consumers use, so
they fail over to the last one), and while no queue has a majority no request is answered 200.

The full run, with every cluster scenario (the leader of the primary's queue killed, a paused node,
a rolling restart, a consumer's node killed), then mixed, and the rate against a single node, is
``python -m bench.fault_run --cluster`` (docs/reliability.md).
"""

from testbed.faults import run_cluster


def test_on_a_cluster_no_request_answered_200_is_lost_and_none_is_accepted_without_a_majority() -> None:
    # The load runs on until a request sent after the fault is answered 200, then 5 s more.
    result = run_cluster(["majority-lost"], rate=40, settle=5, mixed=False)
    assert result.answers[200] > 100
    assert result.ok_without_majority == 0
    for name, account in result.accounts.items():
        assert account.lost == [], f"{name} lost {len(account.lost)} requests answered 200"
        assert account.duplicates == 0, f"{name} handled {account.duplicates} requests twice"
        assert account.dead_letters == 0, name
    assert all(recovery.to_first_200 is not None for recovery in result.recoveries), result.recoveries
    # Both consumers declared their queues through the first node; the policies spread the leaders.
    assert len(set(result.leaders.values())) == 3, result.leaders
