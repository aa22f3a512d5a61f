"""A RabbitMQ cluster of a test's own: three private nodes joined into one.

Each node is a :class:`~testbed.private_broker.PrivateBroker` (own node name, ports and
data directory under a temporary directory) with the same Erlang cookie; the first boots the
cluster and the others ``join_cluster`` it. The nodes boot side by side (about 10 s on two
cores under no other load, then the joins). The cluster is formed before anything is declared, so
every quorum queue gets a replica on each node (RabbitMQ's default initial group size is 3).
The joins run one after the other: two nodes joining at once can make one's Mnesia fail to
start (seen on RabbitMQ 3.10), and the cluster then has two nodes running, not three.

A test or the fault run may then kill, pause or restart any node; :meth:`Cluster.ctl` and
:meth:`Cluster.messages` ask whichever node is running. ``AMQP_URL`` for the apps is
:attr:`Cluster.amqp_url`: every node's URL, comma-separated. Use it as a context manager
(``with Cluster() as cluster: cluster.start()``), from the thread that lives as long as the
nodes (see :mod:`testbed.private_broker`); :mod:`testbed.faults` (``bench.fault_run`` and the
suite's short cluster fault run) does.
"""

from __future__ import annotations

import json
import re
import uuid

from testbed.private_broker import PrivateBroker, PrivateBrokerError, _port_open

# Evaluated on a node: [{Name, Leader}] for every quorum queue (and stream) of VHOST.
_LEADERS = (
    "[{element(4, amqqueue:get_name(Q)), proplists:get_value(leader, rabbit_amqqueue:info(Q, [leader]))}"
    ' || Q <- rabbit_amqqueue:list(<<"VHOST">>)].'
)


class Cluster:
    """``size`` private nodes clustered together; :meth:`close` removes them all."""

    def __init__(self, size: int = 3, config: str = "") -> None:
        cookie = uuid.uuid4().hex.upper()
        self.nodes = [PrivateBroker(cookie=cookie, config=config) for _ in range(size)]

    @property
    def amqp_url(self) -> str:
        """Every node's URL, comma-separated, as the apps take it."""
        return ",".join(node.amqp_url for node in self.nodes)

    def start(self, timeout: float = 120) -> None:
        for node in self.nodes:
            node.start(wait=False)
        for node in self.nodes:
            node.wait_until_serving(timeout)
        seed = self.nodes[0]
        for node in self.nodes[1:]:
            node.stop_app()
            node.ctl("join_cluster", seed.node)
            node.start_app()
        status = json.loads(seed.ctl("cluster_status", "--formatter", "json"))
        if set(status["running_nodes"]) != {node.node for node in self.nodes}:
            raise PrivateBrokerError(f"the cluster did not form: {status}")

    def running_node(self) -> PrivateBroker:
        """A node that serves AMQP now (the first such)."""
        for node in self.nodes:
            if node.is_running() and _port_open(node.amqp_port):
                return node
        raise PrivateBrokerError("no node of the cluster is serving")

    def ctl(self, *arguments: str, timeout: float = 60) -> str:
        return self.running_node().ctl(*arguments, timeout=timeout)

    def messages(self, vhost: str = "/") -> dict[str, int]:
        """As :meth:`PrivateBroker.messages`, asked of a running node (quorum queues answer cluster-wide)."""
        return self.running_node().messages(vhost)

    def leaders(self, vhost: str = "/") -> dict[str, str]:
        """Each quorum queue's (and stream's) leading node, by name."""
        output = self.ctl("eval", _LEADERS.replace("VHOST", vhost.replace('"', "")))
        return dict(re.findall(r'\{<<"([^"]*)">>,\'?([\w@.-]+)\'?\}', output))

    def leader_of(self, queue: str, vhost: str = "/") -> PrivateBroker:
        """The node that leads quorum queue ``queue`` now."""
        leader = self.leaders(vhost).get(queue)
        for node in self.nodes:
            if leader == node.node:
                return node
        raise PrivateBrokerError(f"no leader for {queue} among the nodes (found {leader})")

    def node_at(self, port: int) -> PrivateBroker:
        """The node whose AMQP port this is (a client's log names the node it reached by address)."""
        return next(node for node in self.nodes if node.amqp_port == port)

    def close(self) -> None:
        for node in self.nodes:
            node.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
