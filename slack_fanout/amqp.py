"""What every AMQP client of the product (gateway, consumers, replay) means by a refused login, by the
exchange's existence, by an envelope's message and by a copy of one.

An unreachable broker comes back by itself, so the apps retry it; a refused login (a wrong
password, a user without access to the vhost, a vhost that does not exist) never does, so
the apps stop on it at once with one line that names the user and the vhost.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Any

import pika
from pika.exceptions import (
    AMQPConnectionError,
    AuthenticationError,
    ChannelClosedByBroker,
    ProbableAccessDeniedError,
    ProbableAuthenticationError,
)
from pika.spec import NOT_FOUND

from slack_fanout.envelope import CONTENT_TYPE, Envelope
from slack_fanout.topology import DIRECT_REPLY_TO, INBOUND_EXCHANGE

LOGIN_ERRORS = (ProbableAuthenticationError, ProbableAccessDeniedError, AuthenticationError)
"""What pika raises when the broker closes the connection before it was open: the login was refused."""


class LoginRefused(Exception):
    """The broker refused the login: retrying cannot help until an operator fixes the user."""


def login_refused(amqp_url: str, error: Exception | None = None) -> LoginRefused:
    """The refusal for ``amqp_url``, naming its user and vhost, never its password."""
    user, vhost = user_and_vhost(amqp_url)
    reason = f": {_broker_reason(error)}" if error is not None else ""
    return LoginRefused(f"the broker refused the login of user {user!r} to vhost {vhost!r}{reason}")


def check_login(
    amqp_url: str, connection_name: str, then: Callable[[pika.BlockingConnection], None] | None = None
) -> bool:
    """Log in once, run ``then`` on the connection, and leave: raises ``LoginRefused``; False when the
    broker cannot be reached.

    For an app that connects later, elsewhere (gunicorn's workers), to refuse to start at once.
    """
    parameters = pika.URLParameters(amqp_url)
    parameters.socket_timeout, parameters.stack_timeout = 2, 5  # do not hold up a start for long
    parameters.client_properties = {"connection_name": connection_name}
    try:
        with pika.BlockingConnection(parameters) as connection:
            if then is not None:
                then(connection)
    except LOGIN_ERRORS as error:
        raise login_refused(amqp_url, error) from None
    except AMQPConnectionError:
        return False
    return True


def exchange_exists(connection: pika.BlockingConnection, name: str) -> bool:
    """A passive declare: it needs no permission, so every least-privileged user may ask."""
    channel = connection.channel()
    try:
        channel.exchange_declare(name, passive=True)
    except ChannelClosedByBroker as error:
        if error.reply_code != NOT_FOUND:
            raise
        return False  # the broker closed the channel
    channel.close()
    return True


def ensure_inbound_exchange(connection: pika.BlockingConnection) -> None:
    """Checked first: the least-privileged users of the gateway and the consumers may publish to it or
    bind from it, not configure it. Declared only where it does not exist yet (a broker not booted
    with the definitions); raises ``ChannelClosedByBroker`` (403) where the user may not."""
    if not exchange_exists(connection, INBOUND_EXCHANGE):
        connection.channel().exchange_declare(INBOUND_EXCHANGE, exchange_type="fanout", durable=True)


def user_and_vhost(amqp_url: str) -> tuple[str, str]:
    """As pika reads them: ``guest`` and ``/`` when the URL leaves them out."""
    parts = urllib.parse.urlsplit(amqp_url)
    user = urllib.parse.unquote(parts.username) if parts.username else "guest"
    path = parts.path[1:]
    return user, urllib.parse.unquote(path) if path else "/"


def _broker_reason(error: Exception) -> str:
    """``ACCESS_REFUSED - Login was refused …`` or ``NOT_ALLOWED - vhost x not found``, from pika's error."""
    reply = error.args[0] if error.args else error
    text = str(getattr(reply, "reply_text", reply))
    quoted = re.search(r"'(.+)'", text)  # pika: "ConnectionClosedByBroker: (403) '<the broker's text>'"
    return quoted.group(1) if quoted else text


def envelope_properties(envelope: Envelope) -> pika.BasicProperties:
    """Persistent, and labelled so the management UI's "Get messages" shows what each one is; with the
    gateway's reply-to address when a consumer's answer is awaited (``reply_by``)."""
    wants_reply = envelope.reply_by is not None
    return pika.BasicProperties(
        content_type=CONTENT_TYPE,
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=envelope.id,
        timestamp=int(envelope.received_at.timestamp()),
        type=envelope.kind.value,
        app_id="slack-fanout-gateway",
        reply_to=DIRECT_REPLY_TO if wants_reply else None,
        correlation_id=envelope.id if wants_reply else None,
    )


def persistent_copy(original: pika.BasicProperties, headers: dict[str, Any]) -> pika.BasicProperties:
    """A copy's properties: the original's labels (content type, message id, time, kind, sender),
    persistent, with ``headers`` for its own. Never the original's reply-to address or correlation
    id: a waiting gateway belongs to the first delivery, not to a retry or a replay."""
    return pika.BasicProperties(
        content_type=original.content_type,
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=original.message_id,
        timestamp=original.timestamp,
        type=original.type,
        app_id=original.app_id,
        headers=headers,
    )
