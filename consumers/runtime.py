"""The consumer runtime: one queue of its own, each message handed to the handler, settled after it.

At-least-once: a message is acknowledged only once the handler has returned, so a
consumer that dies mid-message gets it again. When the handler raises, a copy of the
message is parked (published through the consumer's retry exchange, confirmed) in the retry
queue for its next wait (``consumers.retries``), a quorum queue that moves it back to the
consumer's queue after the delay, at least once, and only then is the original acknowledged;
after the last retry the message goes to ``slack.<name>.dead`` with its last error (header
``x-slack-fanout-error``). Waits grow (``topology.RETRY_DELAYS_MS``), so a downstream that
is down for minutes costs no message, and none is held in memory meanwhile. A message that
is not an envelope, or that the handler refuses for good, is dead-lettered at once; one that
crashes the consumer every time is dead-lettered by the quorum queue's delivery limit.

A replying consumer publishes its answer to the message's ``reply_to`` (RabbitMQ direct
reply-to, the gateway waiting on the other end) just before it acknowledges the message.

With behaviour records on, the worker waits for each request to settle (the work its
handler started is done: Bolt's listeners after ``ack()``) before it hands the outcome
over, and sends an answer that would wait for that at once; the record is published with
the batch (``consumers.record_channel``), and a message is acknowledged only once its record
is confirmed: later batches' acks wait for it, new deliveries do not.

The handler runs on a worker thread while the main thread keeps the connection alive
(heartbeats, signals), so a slow handler does not get its connection closed under it;
the worker hands outcomes back with ``add_callback_threadsafe``, the only thread-safe
call of pika's ``BlockingConnection``. Outcomes are settled in batches: one wake-up of the
connection's thread for all outcomes ready; and once half the prefetch window is settled, or
``ACK_DELAY`` after the first, one commit of the dedupe ledger, then one ``basic.ack`` with
``multiple`` for every message up to the last one settled in order.

This module and ``consumers.record_channel`` are the only ones of the consumers that talk to RabbitMQ.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import logging
import queue
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import (
    AMQPChannelError,
    AMQPConnectionError,
    ChannelClosedByBroker,
    ConnectionWrongStateError,
    NackError,
    UnroutableError,
)
from pika.spec import ACCESS_REFUSED, NOT_FOUND, PRECONDITION_FAILED, Basic, BasicProperties

from consumers import metrics
from consumers.dispatch import Delivery, Dispatcher, Outcome, Result
from consumers.errors import ConsumerCancelled, CopyNotAccepted, DeclarationRefused
from consumers.record_channel import RecordChannel, ensure_behaviour_exchange
from consumers.retries import next_home, retries_left
from slack_fanout import topology
from slack_fanout.amqp import LOGIN_ERRORS, login_refused, persistent_copy
from slack_fanout.failover import NodeRotation

log = logging.getLogger(__name__)

_BROKER_GONE = (AMQPConnectionError, AMQPChannelError, ConsumerCancelled, CopyNotAccepted)
"""Failures that a new connection and the same declarations can cure."""

_REFUSALS = frozenset({ACCESS_REFUSED, PRECONDITION_FAILED})
"""A declaration the broker refuses with these, it will refuse every time."""

RETRIES_HEADER = "x-slack-fanout-retries"
"""Retries this consumer has already made of a message: per-consumer state, so it lives in a header
of the consumer's own copy, never in the body every consumer shares."""

ERROR_HEADER = "x-slack-fanout-error"
"""Why the last attempt failed, on the consumer's retried and dead-lettered copies."""

ACK_DELAY = 0.005
"""Seconds a settled message may wait for others to share its ack (and its ledger commit)."""


@dataclass(frozen=True)
class ConsumerConfig:
    name: str
    amqp_urls: tuple[str, ...]
    """One per node of a cluster; pika tries them in turn (``slack_fanout.failover`` picks the first)."""
    prefetch: int
    concurrency: int = 1
    retry_delays_ms: tuple[int, ...] = topology.RETRY_DELAYS_MS
    reconnect_delay_min: float = 0.5
    reconnect_delay_max: float = 30.0
    behaviour_records: bool = False
    """Publish each message's behaviour record (``Result.record``) to ``slack.behaviour``."""


class Consumer:
    """Consumes queue ``slack.<name>``, settling each message with the dispatcher's outcome."""

    def __init__(self, config: ConsumerConfig, dispatcher: Dispatcher) -> None:
        self._config = config
        self._dispatcher = dispatcher
        self._queue = topology.consumer_queue(config.name)
        self._stopping = False
        self._failures = 0
        self._legacy_checked = False
        self._nodes = NodeRotation(config.amqp_urls)

    def run(self) -> None:
        """Consume until SIGTERM or SIGINT; reconnect with backoff whenever the broker goes away.

        Raises ``DeclarationRefused`` when the broker's queues disagree with the topology, and
        ``LoginRefused`` when it refuses the login: neither would change on a retry.
        """
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        while not self._stopping:
            try:
                self._consume()
            except LOGIN_ERRORS as error:
                raise login_refused(self._nodes.current(), error) from None
            except _BROKER_GONE as error:
                self._nodes.move_on()  # the node that failed or went away is tried last next time
                if not self._stopping:
                    self._back_off(error)
        log.info("stopped", extra={"consumer": self._config.name})

    def _request_stop(self, signum: int, _frame: object) -> None:
        log.info(
            "stopping after the message in hand",
            extra={"consumer": self._config.name, "signal": signal.Signals(signum).name},
        )
        self._stopping = True

    def _back_off(self, error: Exception) -> None:
        self._failures += 1
        delay = min(self._config.reconnect_delay_min * 2 ** min(self._failures - 1, 16),
                    self._config.reconnect_delay_max)  # fmt: skip
        log.warning(
            "broker connection failed; retrying",
            extra={"consumer": self._config.name, "attempt": self._failures, "retry_in_s": delay,
                   "error": f"{type(error).__name__}: {error}"[:300]},
        )  # fmt: skip
        deadline = time.monotonic() + delay
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(0.1)  # in slices: a signal handler cannot cut a sleep short

    def _consume(self) -> None:
        """One connection's life: declare, consume until stopped or lost, then settle what is in hand.

        Every (re)connect runs this same code, so nothing depends on pika restoring state. With
        several nodes, pika's connection workflow tries each in turn until one accepts; the
        unacknowledged messages of a lost connection are delivered again, on whichever node.
        """
        session = _Session(pika.BlockingConnection(self._parameters()), self._dispatcher, self._config)
        try:
            self._ensure_exchange(session.connection)
            if self._config.behaviour_records:
                ensure_behaviour_exchange(session.connection)
            channel = session.connection.channel()
            self._declare(channel)
            self._report_legacy_retry_queues(session.connection)
            session.open_publishing_channels()
            channel.basic_qos(prefetch_count=self._config.prefetch)
            channel.add_on_cancel_callback(_cancelled_by_broker)
            tag = channel.basic_consume(self._queue, session.on_message)
            log.info("consuming", extra={"consumer": self._config.name, "queue": self._queue,
                                         "node": _node_of(session.connection)})  # fmt: skip
            self._failures = 0
            while not self._stopping:
                session.connection.process_data_events(time_limit=session.idle_time())
                session.acknowledge()
            channel.basic_cancel(tag)
            session.finish()
        finally:
            session.close()

    def _parameters(self) -> list[pika.URLParameters]:
        every = []
        for url in self._nodes.order():
            parameters = pika.URLParameters(url)
            parameters.client_properties = {"connection_name": f"slack-fanout consumer {self._config.name}"}
            every.append(parameters)
        return every

    def _ensure_exchange(self, connection: pika.BlockingConnection) -> None:
        """Checked passively first: a least-privileged consumer user may bind from the exchange but not
        configure it. Declared only where it does not exist yet (a broker not booted with the definitions)."""
        channel = connection.channel()
        try:
            channel.exchange_declare(topology.INBOUND_EXCHANGE, passive=True)
            channel.close()
        except ChannelClosedByBroker as error:
            if error.reply_code != NOT_FOUND:
                raise
            with _refusals_are_final():
                connection.channel().exchange_declare(
                    topology.INBOUND_EXCHANGE, exchange_type="fanout", durable=True
                )

    def _declare(self, channel: BlockingChannel) -> None:
        """The same declarations at every (re)connect: idempotent, and they match the definitions file.

        Retry queues are declared for the configured schedule, whatever it is; each delay's
        queue is bound to the retry exchange under its own name, and so are the dead-letter queue and
        the consumer's queue (where the retry queues send a copy back).
        """
        name = self._config.name
        delays = self._config.retry_delays_ms
        with _refusals_are_final():
            channel.queue_declare(
                topology.dead_letter_queue(name),
                durable=True,
                arguments=topology.dead_letter_queue_arguments(),
            )
            channel.queue_declare(
                self._queue, durable=True, arguments=topology.consumer_queue_arguments(name)
            )
            channel.queue_bind(self._queue, topology.INBOUND_EXCHANGE)
            channel.exchange_declare(topology.retry_exchange(name), exchange_type="direct", durable=True)
            for delay in sorted(set(delays)):
                channel.queue_declare(
                    topology.retry_queue(name, delay),
                    durable=True,
                    arguments=topology.retry_queue_arguments(name, delay),
                )
            for queue in topology.parking_queues(name, delays):
                channel.queue_bind(queue, topology.retry_exchange(name), routing_key=queue)

    def _report_legacy_retry_queues(self, connection: pika.BlockingConnection) -> None:
        """Once per run: warn about classic retry queues an earlier version left (docs/operations.md)."""
        if self._legacy_checked:
            return
        self._legacy_checked = True
        for delay in sorted(set(self._config.retry_delays_ms) | set(topology.RETRY_DELAYS_MS)):
            queue = topology.legacy_retry_queue(self._config.name, delay)
            channel = connection.channel()
            try:
                count = channel.queue_declare(queue, passive=True).method.message_count
            except ChannelClosedByBroker:
                continue  # absent, as it should be (or not ours to see); the broker closed the channel
            channel.close()
            log.warning(
                "legacy retry queue found: delete it once empty",
                extra={"consumer": self._config.name, "queue": queue, "messages": count},
            )


@dataclass(frozen=True)
class _Message:
    channel: BlockingChannel
    tag: int
    properties: BasicProperties
    body: bytes
    retries: int
    """Retries this consumer made of it before (``RETRIES_HEADER``), read once on delivery."""


class _Session:
    """One connection and the worker thread that runs the handler for the messages it delivers."""

    def __init__(
        self, connection: pika.BlockingConnection, dispatcher: Dispatcher, config: ConsumerConfig
    ) -> None:
        self.connection = connection
        self._dispatcher = dispatcher
        self._config = config
        self._name = config.name
        self._inbox: queue.SimpleQueue[tuple[_Message, Delivery] | None] = queue.SimpleQueue()
        self._in_hand = 0  # delivered and not yet handed back by a worker (under the outcomes lock)
        self._workers = [
            threading.Thread(target=self._work, name=f"handler-{config.name}-{number}", daemon=True)
            for number in range(config.concurrency)
        ]
        for worker in self._workers:
            worker.start()
        self._outcomes: list[tuple[_Message, Result]] = []  # handed over by the worker, not yet settled
        self._outcomes_lock = threading.Lock()
        self._unacked: collections.deque[int] = collections.deque()  # delivery tags, in delivery order
        self._settled: set[int] = set()  # tags ready to acknowledge once all before them are
        self._first_settled_at: float | None = None
        self._consuming_channel: BlockingChannel | None = None
        self._ack_batch = max(config.prefetch // 2, 1)
        self._retry_channel: BlockingChannel | None = None
        self._reply_channel: BlockingChannel | None = None
        self._records: RecordChannel | None = None
        self._record_of: dict[int, int] = {}  # delivery tag -> its record's publish sequence number

    def open_publishing_channels(self) -> None:
        """One in confirm mode, since a retry copy must be safe before its original is acknowledged;
        one without, for replies: a gateway that stopped waiting has nothing to confirm."""
        self._retry_channel = self.connection.channel()
        self._retry_channel.confirm_delivery()
        self._reply_channel = self.connection.channel()
        if self._config.behaviour_records:
            self._records = RecordChannel(self.connection, self._name)

    def on_message(
        self, channel: BlockingChannel, method: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> None:
        """On the connection's thread: queue the message for the worker (at most ``prefetch`` wait)."""
        retries = _retries(properties)
        left = retries_left(retries, self._config.retry_delays_ms)
        may_repeat = method.redelivered or topology.REPLAYED_HEADER in (properties.headers or {})
        delivery = Delivery(body, retries, left, properties.reply_to, may_repeat)
        message = _Message(channel, method.delivery_tag, properties, body, retries)
        self._consuming_channel = channel
        self._unacked.append(method.delivery_tag)
        with self._outcomes_lock:
            self._in_hand += 1
        self._inbox.put((message, delivery))

    def finish(self) -> None:
        """On stop: drop what has not started, let the running handlers finish, then send their settlement."""
        self._drop_unstarted()
        while self._in_hand:
            self.connection.process_data_events(time_limit=0.1)  # heartbeats, while the handler finishes
        self.connection.process_data_events(time_limit=0)  # runs the settlement the worker handed over
        self.acknowledge(force=True)

    def close(self) -> None:
        """Messages not started stay unacked: the broker requeues them when the connection closes.

        After a lost connection this waits for the handler in hand, so that the broker's
        redelivered copy never runs beside it.
        """
        self._drop_unstarted()
        for _worker in self._workers:
            self._inbox.put(None)
        for worker in self._workers:
            worker.join()
        if self.connection.is_open:
            self.connection.close()

    def _drop_unstarted(self) -> None:
        while True:
            try:
                self._inbox.get_nowait()
            except queue.Empty:
                return
            with self._outcomes_lock:
                self._in_hand -= 1

    def _work(self) -> None:
        """A worker thread: handle messages in delivery order until told to stop (``None``)."""
        while (item := self._inbox.get()) is not None:
            self._process(*item)

    def _process(self, message: _Message, delivery: Delivery) -> None:
        """On a worker thread: run the handler, then have the connection's thread settle the message."""
        result = self._with_record(message, self._dispatcher.process(delivery))
        with self._outcomes_lock:
            self._in_hand -= 1
            self._outcomes.append((message, result))
            if len(self._outcomes) > 1:
                return  # the connection's thread is already asked to settle the batch
        try:
            self.connection.add_callback_threadsafe(self._settle_outcomes)
        except ConnectionWrongStateError:
            log.warning(
                "connection lost before the message was settled; the broker will deliver it again",
                extra={"consumer": self._name, "outcome": result.outcome.value},
            )

    def _with_record(self, message: _Message, result: Result) -> Result:
        """Wait for the request to settle and its record; an answer that would wait for it goes now."""
        record = result.record
        if record is None:
            return result
        if result.reply is not None and record.has_pending_work:
            send = functools.partial(self._send_reply, message.properties, result)
            with contextlib.suppress(
                ConnectionWrongStateError
            ):  # lost: the message comes back, answered again
                self.connection.add_callback_threadsafe(send)
            result = dataclasses.replace(result, reply=None)
        record.settle()
        return result

    def _settle_outcomes(self) -> None:
        """On the connection's thread: replies and parked copies first, then the ledger, then the acks."""
        with self._outcomes_lock:
            outcomes, self._outcomes = self._outcomes, []
        channel = outcomes[0][0].channel
        if not channel.is_open:
            return  # the tags died with the channel; the broker redelivers the messages
        for message, result in outcomes:
            if result.reply is not None:
                self._send_reply(message.properties, result)
            if result.outcome is not Outcome.ACK:
                self._park(message, result)
            if self._records is not None and result.record is not None and result.record.body is not None:
                self._record_of[message.tag] = self._records.publish(result.record.body)
            self._settled.add(message.tag)
        if self._first_settled_at is None:
            self._first_settled_at = time.monotonic()

    def idle_time(self) -> float:
        """How long the connection's thread may wait for events before acknowledgements fall due."""
        if self._first_settled_at is None:
            return 0.5
        return max(self._first_settled_at + ACK_DELAY - time.monotonic(), 0)

    def acknowledge(self, force: bool = False) -> None:
        """Commit the ledger, then ack every message up to the last one settled in order, when due."""
        if self._first_settled_at is None:
            return
        due = force or len(self._settled) >= self._ack_batch or self.idle_time() == 0
        channel = self._consuming_channel
        if not due or channel is None or not channel.is_open:
            return
        if self._records is not None and force:
            self._records.wait_for_confirms()  # may settle more messages: their records are waited for too
        ready = self._ready_to_ack()
        if not ready:  # the first in order waits for its record's confirm: look again after ACK_DELAY
            self._first_settled_at = time.monotonic()
            return
        self._dispatcher.commit()  # first: an acknowledged request is never handled twice
        last = None
        for _ in range(ready):
            last = self._unacked.popleft()
            self._settled.remove(last)
            self._record_of.pop(last, None)
        self._first_settled_at = time.monotonic() if self._settled else None
        if last is not None:
            channel.basic_ack(last, multiple=True)

    def _ready_to_ack(self) -> int:
        """How many messages, in delivery order, are settled and have their behaviour record confirmed
        (or given up on): a message is acknowledged only once its record is safe."""
        ready = 0
        for tag in self._unacked:
            sequence = self._record_of.get(tag)
            confirmed = sequence is None or self._records is None or self._records.is_confirmed(sequence)
            if tag not in self._settled or not confirmed:
                break
            ready += 1
        return ready

    def _send_reply(self, properties: BasicProperties, result: Result) -> None:
        reply_to: str | None = properties.reply_to  # the dispatcher answers only a delivery that has one
        assert self._reply_channel is not None and result.reply is not None and reply_to is not None
        reply = BasicProperties(
            content_type=result.reply.content_type, correlation_id=properties.correlation_id
        )
        self._reply_channel.basic_publish("", reply_to, result.reply.body, reply)

    def _park(self, message: _Message, result: Result) -> None:
        """Publish a copy, confirmed, to its next home: a retry queue, or the dead-letter queue.

        Raises ``CopyNotAccepted`` when the broker refuses it, before the original is acknowledged.
        """
        assert self._retry_channel is not None
        home = next_home(self._name, result.outcome, message.retries, self._config.retry_delays_ms)
        headers = {
            **(message.properties.headers or {}),
            RETRIES_HEADER: message.retries + 1,
            ERROR_HEADER: result.error,
        }
        headers.pop("x-delivery-count", None)
        properties = persistent_copy(message.properties, headers)
        exchange = topology.retry_exchange(self._name)
        try:
            self._retry_channel.basic_publish(exchange, home.queue, message.body, properties, mandatory=True)
        except (NackError, UnroutableError) as error:
            raise CopyNotAccepted(f"the broker did not take the copy for {home.queue}: {error}") from None
        metrics.MESSAGES.labels(self._name, "retried" if home.is_retry else "dead_lettered").inc()


@contextlib.contextmanager
def _refusals_are_final() -> Iterator[None]:
    """A declaration the broker refuses (403, 406) is refused again after any reconnect."""
    try:
        yield
    except ChannelClosedByBroker as error:
        if error.reply_code in _REFUSALS:
            raise DeclarationRefused(f"the broker refused the declarations: {error.reply_text}") from None
        raise


def _node_of(connection: pika.BlockingConnection) -> str:
    """``host:port`` of the node the connection reached (of several, the first that accepted)."""
    parameters = connection._impl.params  # pika keeps the winning endpoint's parameters there
    return f"{parameters.host}:{parameters.port}"


def _cancelled_by_broker(_frame: object) -> None:
    raise ConsumerCancelled("the broker cancelled the consumer (queue deleted?)")


def _retries(properties: BasicProperties) -> int:
    value = (properties.headers or {}).get(RETRIES_HEADER, 0)
    return value if isinstance(value, int) and value >= 0 else 0
