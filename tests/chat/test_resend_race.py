"""The same chat message resent on another connection (another process)
while the first is being stored: one entry, one message on the ticket."""

import threading

import pytest
from django.db import connection, transaction

from channels_app.chat import services
from channels_app.models import ChatEntry, Conversation
from contacts.models import Message
from tests.support.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def waiting_for_a_lock():
    with connection.cursor() as cursor:
        # Inside a transaction the view keeps its first snapshot: take a new one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("handed_over", [False, True], ids=["assistant", "ticket"])
def test_two_sends_of_one_client_id_at_the_same_moment_store_one_entry(organisation, handed_over):
    if connection.vendor != "postgresql":
        pytest.skip("row locks of PostgreSQL")
    conversation = services.start(organisation)
    if handed_over:
        services.hand_over(conversation, "Léa", "lea@example.org")
    results, errors = [], []

    def send():
        try:
            mine = Conversation.objects.get(pk=conversation.pk)
            results.append(services.citizen_says(mine, "c1", "Où en est mon dossier ?"))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    # Hold the conversation (as a first writer would) until both senders,
    # having found no entry c1 yet, wait for it.
    with transaction.atomic():
        Conversation.objects.select_for_update().get(pk=conversation.pk)
        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        wait_until(lambda: waiting_for_a_lock() >= 2, timeout=30, message="both senders waiting")
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert ChatEntry.objects.filter(client_id="c1").count() == 1
    assert results[0][0].pk == results[1][0].pk
    if handed_over:
        assert Message.objects.filter(channel="chat", external_id=f"chat:{conversation.pk}:c1").count() == 1
