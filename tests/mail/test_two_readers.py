"""Two readers of one mailbox (two listeners, or a listener and an import)
may take the same message at the same moment."""

import pytest

from contacts.models import Message, Ticket
from mail.models import Mailbox, RawMessage
from mail.services import process, store_raw
from tests.support.emails import USER, citizen_email


@pytest.mark.django_db
def test_the_reader_that_lost_the_race_keeps_the_winners_status(organisation):
    mailbox = Mailbox.objects.create(organisation=organisation, address=USER)
    raw = citizen_email(1)
    row, created = store_raw(raw, organisation=organisation, mailbox=mailbox, source=RawMessage.Source.IMAP)
    assert created
    # The second reader found the stored row still pending, as the first was ingesting it.
    seen_pending = RawMessage.objects.select_related("organisation", "mailbox").get(pk=row.pk)

    first = process(row, raw)
    second = process(seen_pending, raw)

    assert (first.outcome, second.outcome) == ("created", "duplicate")
    assert second.ticket == first.ticket
    stored = RawMessage.objects.get(pk=row.pk)
    assert (stored.status, stored.ticket_id) == (RawMessage.Status.CREATED, first.ticket.pk)
    assert Ticket.objects.count() == Message.objects.count() == 1


@pytest.mark.django_db
def test_the_same_message_in_other_bytes_is_still_recorded_as_a_duplicate(organisation):
    mailbox = Mailbox.objects.create(organisation=organisation, address=USER)
    original = citizen_email(1)
    row, _ = store_raw(original, organisation=organisation, mailbox=mailbox, source=RawMessage.Source.IMAP)
    process(row, original)
    # The same Message-ID relayed with a header more: other bytes, another row.
    relayed = b"Received: from relay.example\r\n" + original
    other, created = store_raw(relayed, organisation=organisation, mailbox=mailbox, source=RawMessage.Source.IMAP)
    assert created

    assert process(other, relayed).outcome == "duplicate"
    assert RawMessage.objects.get(pk=other.pk).status == RawMessage.Status.DUPLICATE
    assert RawMessage.objects.get(pk=row.pk).status == RawMessage.Status.CREATED
