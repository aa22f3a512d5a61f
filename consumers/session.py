"""One connection's life in the consumer runtime: deliveries to the handler threads, outcomes back.

Transport only: the dispatcher decides what happens to a message, ``consumers.retries`` where
a failed one goes next, ``consumers.acks`` when it may be acknowledged. Why the threads are
arranged as they are: docs/architecture.md, "The consumer runtime".
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import queue
import threading
from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import ConnectionWrongStateError, NackError, UnroutableError
from pika.spec import Basic, BasicProperties

from consumers.acks import AckWindow
from consumers.dispatch import Delivery, Dispatcher, Outcome, Result
from consumers.errors import CopyNotAccepted
from consumers.record_channel import RecordChannel
from consumers.retries import copy_headers, last_delivery, next_home, retries_left, retries_made
from slack_fanout import topology
from slack_fanout.amqp import persistent_copy
from slack_fanout.answer_deadline import ANSWER_TIMEOUT_S, NoAnswer, answered_within
from slack_fanout.batching_connection import batching

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Message:
    channel: BlockingChannel
    tag: int
    properties: BasicProperties
    body: bytes
    retries: int
    """Retries this consumer made of it before (``RETRIES_HEADER``), read once on delivery."""


class Session:
    """One connection and the worker threads that run the handler for the messages it delivers."""

    def __init__(
        self,
        connection: pika.BlockingConnection,
        dispatcher: Dispatcher,
        name: str,
        *,
        prefetch: int,
        concurrency: int,
        retry_delays_ms: tuple[int, ...],
        behaviour_records: bool,
    ) -> None:
        self.connection = connection
        self._dispatcher = dispatcher
        self._name = name
        self._retry_delays_ms = retry_delays_ms
        self._behaviour_records = behaviour_records
        self._inbox: queue.SimpleQueue[tuple[_Message, Delivery] | None] = queue.SimpleQueue()
        self._in_hand = 0  # delivered and not yet handed back by a worker (under the outcomes lock)
        self._outcomes: list[tuple[_Message, Result]] = []  # handed over by a worker, not yet settled
        self._outcomes_lock = threading.Lock()
        self._acks = AckWindow(batch=prefetch // 2)
        self._consuming_channel: BlockingChannel | None = None
        self._retry_channel: BlockingChannel | None = None
        self._reply_channel: BlockingChannel | None = None
        self._records: RecordChannel | None = None
        self._workers = [
            threading.Thread(target=self._work, name=f"handler-{name}-{number}", daemon=True)
            for number in range(concurrency)
        ]
        for worker in self._workers:
            worker.start()

    def open_publishing_channels(self) -> None:
        """One in confirm mode, since a retry copy must be safe before its original is acknowledged;
        one without, for replies: a gateway that stopped waiting has nothing to confirm."""
        self._retry_channel = self.connection.channel()
        self._retry_channel.confirm_delivery()
        self._reply_channel = self.connection.channel()
        if self._behaviour_records:
            self._records = RecordChannel(self.connection, self._name)

    def on_message(
        self, channel: BlockingChannel, method: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> None:
        """On the connection's thread: queue the message for a worker (at most ``prefetch`` wait)."""
        retries = retries_made(properties.headers)
        left = retries_left(retries, self._retry_delays_ms)
        may_repeat = method.redelivered or topology.REPLAYED_HEADER in (properties.headers or {})
        last = last_delivery(properties.headers)
        delivery = Delivery(body, retries, left, properties.reply_to, may_repeat, last)
        self._consuming_channel = channel
        self._acks.delivered(method.delivery_tag)
        with self._outcomes_lock:
            self._in_hand += 1
        self._inbox.put((_Message(channel, method.delivery_tag, properties, body, retries), delivery))

    def idle_time(self) -> float:
        """How long the connection's thread may wait for events before acknowledgements fall due."""
        return self._acks.wait_time()

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
        redelivered copy never runs beside it. A node that stops answering before the close is
        answered has the connection dropped at the bound instead, which the broker treats the same.
        """
        self._drop_unstarted()
        for _worker in self._workers:
            self._inbox.put(None)
        for worker in self._workers:
            worker.join()
        if self.connection.is_open:
            self._close_connection()

    def _close_connection(self) -> None:
        try:
            with answered_within(self.connection, ANSWER_TIMEOUT_S):
                self.connection.close()
        except NoAnswer as error:
            log.warning("connection dropped on close", extra={"consumer": self._name, "error": str(error)})

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
        """On the connection's thread: replies and parked copies first, then the records.

        The batch's replies and records leave in one write, not three system calls apiece.
        """
        with self._outcomes_lock:
            outcomes, self._outcomes = self._outcomes, []
        if not outcomes[0][0].channel.is_open:
            return  # the tags died with the channel; the broker redelivers the messages
        with batching(self.connection).batched():
            self._carry_out(outcomes)

    def _carry_out(self, outcomes: list[tuple[_Message, Result]]) -> None:
        for message, result in outcomes:
            if result.reply is not None:
                self._send_reply(message.properties, result)
            if result.outcome is not Outcome.ACK:
                self._park(message, result)
            record = None
            if self._records is not None and result.record is not None and result.record.body is not None:
                record = self._records.publish(result.record.body)
            self._acks.settled(message.tag, record)

    def acknowledge(self, force: bool = False) -> None:
        """Commit the ledger, then ack every message up to the last one settled in order, when due."""
        channel = self._consuming_channel
        if not self._acks.has_settled() or not (force or self._acks.is_due()):
            return
        if channel is None or not channel.is_open:
            return
        if self._records is not None and force:
            self._records.wait_for_confirms()  # may settle more messages: their records are waited for too
        records = self._records
        last = self._acks.take(lambda sequence: records is None or records.is_confirmed(sequence))
        if last is None:
            return  # the oldest waits for its record's confirm
        self._dispatcher.commit()  # first: an acknowledged request is never handled twice
        channel.basic_ack(last, multiple=True)

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
        home = next_home(self._name, result.outcome, message.retries, self._retry_delays_ms)
        headers = copy_headers(message.properties.headers, message.retries, result.error)
        properties = persistent_copy(message.properties, headers)
        try:
            with batching(self.connection).unbatched():  # its confirm is awaited
                self._retry_channel.basic_publish(
                    topology.retry_exchange(self._name), home.queue, message.body, properties, mandatory=True
                )
        except (NackError, UnroutableError) as error:
            raise CopyNotAccepted(f"the broker did not take the copy for {home.queue}: {error}") from None
