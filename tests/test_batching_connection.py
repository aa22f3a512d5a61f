"""The contract with pika that ``slack_fanout.batching_connection`` rests on: fails loudly when pika moves it.

BatchingConnection holds back what pika hands to ``_adapter_emit_data`` inside a batch, and the
consumer runtime puts it under a ``BlockingConnection``. Should a pika release send frames another
way, batching would silently stop (and a rename would break the gateway and the consumers
outright): this says which, before either reaches production. The batching itself, against a real
broker: ``tests/gateway/test_publisher_batching.py`` and ``tests/consumers/test_session.py``.
"""

from __future__ import annotations

import inspect

import pika
from pika.adapters.base_connection import BaseConnection
from pika.connection import Connection

from slack_fanout.batching_connection import BatchingConnection


def test_pika_sends_every_marshaled_frame_through_adapter_emit_data() -> None:
    assert "self._adapter_emit_data(marshaled_frame)" in inspect.getsource(
        Connection._output_marshaled_frames
    )


def test_the_socket_adapter_takes_the_bytes_of_a_frame() -> None:
    signature = inspect.signature(BaseConnection._adapter_emit_data)
    assert list(signature.parameters) == ["self", "data"]


def test_a_blocking_connection_drives_the_connection_class_it_is_given_and_keeps_it_as_impl() -> None:
    assert "_impl_class" in inspect.signature(pika.BlockingConnection.__init__).parameters
    assert "self._impl = self._create_connection(parameters, _impl_class)" in inspect.getsource(
        pika.BlockingConnection.__init__
    )


def test_the_batching_connection_is_the_select_connection_the_publisher_drives() -> None:
    assert issubclass(BatchingConnection, pika.SelectConnection)
    assert BatchingConnection._adapter_emit_data is not BaseConnection._adapter_emit_data
