"""The domain-event dispatch (spm.events): receivers run after the commit with
the transaction's events of their types, nothing on a rollback (of the
transaction or of a savepoint), at once outside a transaction; a failing
receiver is logged and does not break the write or the other receivers."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from spm import events


@pytest.fixture
def received(monkeypatch) -> dict[str, list[list[events.Event]]]:
    """Two receivers of their own (the app's are set aside for the test): one
    of period closes, one of team moves and period closes."""
    monkeypatch.setattr(events, "_subscriptions", [])
    calls: dict[str, list[list[events.Event]]] = {"closed": [], "both": []}

    @events.subscribe(events.PeriodClosed)
    def closed(batch):
        calls["closed"].append(list(batch))

    @events.subscribe(events.TeamMoved, events.PeriodClosed)
    def both(batch):
        calls["both"].append(list(batch))

    return calls


CLOSED = events.PeriodClosed(tenant_id=1, period_id=10)
MOVED = events.TeamMoved(tenant_id=1, team_id=5, old_parent_id=None, new_parent_id=4)


def _publish_and_fail(event: events.Event) -> None:
    with transaction.atomic():
        events.publish(event)
        raise RuntimeError("boom")


@pytest.mark.django_db
def test_receivers_get_the_transactions_events_of_their_types_after_commit(
    received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        events.publish(CLOSED)
        events.publish(MOVED)
        assert received == {"closed": [], "both": []}

    assert len(callbacks) == 1
    assert received == {"closed": [[CLOSED]], "both": [[CLOSED, MOVED]]}


@pytest.mark.django_db
def test_a_rolled_back_transaction_delivers_nothing(received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        _publish_and_fail(CLOSED)

    assert callbacks == []
    assert received == {"closed": [], "both": []}


@pytest.mark.django_db
def test_a_rolled_back_savepoint_drops_only_what_was_published_inside_it(
    received, django_capture_on_commit_callbacks
):
    """The outer block's move is delivered; the close published in the inner
    block that rolled back is not."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.publish(MOVED)
        with pytest.raises(RuntimeError):
            _publish_and_fail(CLOSED)

    assert received == {"closed": [], "both": [[MOVED]]}


def test_outside_a_transaction_an_event_is_delivered_at_once(received):
    """(No database access: this test runs in autocommit, outside any transaction.)"""
    assert not transaction.get_connection().in_atomic_block

    events.publish(MOVED)

    assert received == {"closed": [], "both": [[MOVED]]}


@pytest.mark.django_db
def test_a_failing_receiver_is_logged_and_the_others_still_run(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(events, "_subscriptions", [])
    delivered: list[events.Event] = []

    @events.subscribe(events.PeriodClosed)
    def broken(batch):
        raise ValueError("receiver bug")

    @events.subscribe(events.PeriodClosed)
    def works(batch):
        delivered.extend(batch)

    logs = caplog.at_level(logging.ERROR, logger="spm.events")
    with logs, django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.publish(CLOSED)

    assert delivered == [CLOSED]
    (record,) = caplog.records
    assert record.getMessage() == (
        "Receiver tests.spm.test_events.test_a_failing_receiver_is_logged_and_the_others_still_run"
        ".<locals>.broken failed on PeriodClosed (1 in all); the write stands."
    )
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "receiver bug"


@pytest.mark.django_db
def test_subscribing_twice_keeps_one_subscription(received, django_capture_on_commit_callbacks):
    def again(batch):
        received["closed"].append(list(batch))

    events.subscribe(events.PeriodClosed)(again)
    events.subscribe(events.PeriodClosed)(again)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.publish(CLOSED)

    assert received["closed"] == [[CLOSED], [CLOSED]]  # the fixture's receiver and `again`
