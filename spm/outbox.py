"""The task outbox: work a write asks for survives a broker outage
(docs/architecture.md, "Task outbox").

``outbox_add`` writes the task into the database in the caller's transaction,
so the request that asked for it commits with it or not at all. After the
commit one attempt sends it at once (``outbox_send``); when the broker is
down the message stays, and the relay (``outbox_relay``, a beat job every
few seconds) sends it once the broker answers again. Each message is claimed
with ``SELECT ... FOR UPDATE SKIP LOCKED``, sent with its own id as the task
id, and deleted in the same transaction: two relays (or a relay and the
on-the-spot attempt) never send the same message twice while both live.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from spm.celery import app
from spm.models import OutboxMessage

log = logging.getLogger(__name__)

# What a send raises when the broker cannot be reached.
BROKER_ERRORS = (KombuOperationalError, RedisError, ConnectionError, OSError)
RELAY_BATCH = 500
PROBE_TIMEOUT_SECONDS = 0.5


def outbox_add(name: str, args: list[Any], *, countdown: float | None = None) -> OutboxMessage:
    """Keep task ``name`` with JSON ``args`` for sending; it runs no sooner
    than ``countdown`` seconds from now. Joins the caller's transaction."""
    eta = timezone.now() + dt.timedelta(seconds=countdown) if countdown else None
    return OutboxMessage.objects.create(
        task=name, args=list(args), queue=app.conf.task_default_queue, eta=eta
    )


def enqueue_on_commit(name: str, *args: Any, countdown: float | None = None) -> None:
    """Start task ``name`` with JSON ``args`` once the current transaction
    commits (at once outside one), so the worker sees what the transaction
    wrote, and never lose it: the message is written in the transaction, sent
    right after the commit, or by the relay when the broker was down then.
    Services start their follow-up work by name (see ``spm.celery.enqueue``)."""
    message = outbox_add(name, list(args), countdown=countdown)
    transaction.on_commit(lambda: outbox_send(message.pk))


class BrokerDown(ConnectionError):
    """The broker did not answer the probe before a send."""


def broker_answers() -> bool:
    """Whether the Redis broker answers a PING within half a second (a
    publish to a broker that is down would wait for its connection retries)."""
    url = settings.CELERY_BROKER_URL.replace("redis+socket://", "unix://")
    client = redis.Redis.from_url(
        url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS, socket_timeout=PROBE_TIMEOUT_SECONDS
    )
    try:
        return bool(client.ping())
    except (RedisError, OSError):
        return False
    finally:
        client.close()


def _publish(message: OutboxMessage) -> None:
    app.send_task(
        message.task,
        args=message.args,
        task_id=str(message.id),
        eta=message.eta,
        queue=message.queue,
        retry=False,
    )


def outbox_send(message_id: uuid.UUID) -> bool:
    """Send one message now unless another sender holds it; returns whether
    this call sent it. A broker fault is logged and leaves the message for
    the relay; it never reaches the caller."""
    try:
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=message_id)
                .first()
            )
            if message is None:
                return False
            if not broker_answers():
                raise BrokerDown(f"no answer from the broker within {PROBE_TIMEOUT_SECONDS} s")
            _publish(message)
            message.delete()
    except BROKER_ERRORS as exc:
        _record_failure(message_id, exc)
        return False
    return True


def _record_failure(message_id: uuid.UUID, exc: Exception) -> None:
    log.warning("Broker unreachable; task %s stays in the outbox: %s", message_id, exc)
    OutboxMessage.objects.filter(pk=message_id).update(
        attempts=F("attempts") + 1, last_error=str(exc)[:500]
    )


def outbox_relay(*, batch: int = RELAY_BATCH) -> int:
    """Send the messages waiting in the outbox, oldest first, ``batch`` per
    transaction, skipping those another sender holds. Stops at the first
    broker fault (the rest wait for the next relay). Returns how many were
    sent."""
    sent = 0
    while True:
        try:
            claimed = _relay_batch(batch)
        except BROKER_ERRORS as exc:
            # The batch rolled back: its messages wait for the next relay (any of them
            # already published goes again under the same task id).
            log.warning("Outbox relay stopped, broker unreachable: %s", exc)
            return sent
        sent += claimed
        if claimed < batch:
            return sent


def _relay_batch(batch: int) -> int:
    with transaction.atomic():
        messages = list(
            OutboxMessage.objects.select_for_update(skip_locked=True).order_by("created_at")[:batch]
        )
        if messages and not broker_answers():
            raise BrokerDown(f"no answer from the broker within {PROBE_TIMEOUT_SECONDS} s")
        for message in messages:
            _publish(message)
        OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]).delete()
    return len(messages)


def outbox_backlog() -> int:
    """How many messages wait for the broker."""
    return OutboxMessage.objects.count()
