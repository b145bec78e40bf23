"""The ticket's search document (PostgreSQL, migration 0012) follows what
the ticket holds: words added with a message, moved by a merge, gone with a
purge, a subject or a contact's name changed."""

import pytest
from django.db import connection

from contacts.inbox import queries
from contacts.models import Contact, Message, Ticket
from contacts.services import ingest
from contacts.services.merging import merge
from contacts.services.privacy import purge_ticket
from tests.inbox.world import inbound

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the search document is PostgreSQL's")


def found(text):
    return set(queries.search(Ticket.objects.all(), text).values_list("reference", flat=True))


def test_words_of_a_later_message_are_found(world):
    rsa = world.ticket("rsa")
    assert rsa.reference not in found("quittance")
    later = inbound(40, subject=f"Re: [{rsa.reference}]", text="Voici ma quittance de loyer.")
    later.sender_email = rsa.contact.email
    assert ingest(later).ticket.pk == rsa.pk
    assert rsa.reference in found("quittances")  # stemmed
    assert rsa.reference in found("quittance -zzzabsent")
    assert rsa.reference not in found("quittance -retard")  # the first message's word excludes it


def test_purged_words_leave_the_index_with_the_text(world):
    rsa = world.ticket("rsa")
    assert rsa.reference in found("retard")
    purge_ticket(rsa, "test")
    assert rsa.reference not in found("retard")


def test_a_changed_subject_or_contact_name_is_searched_anew(world):
    rsa = world.ticket("rsa")
    Ticket.objects.filter(pk=rsa.pk).update(subject="Allocation logement")
    assert rsa.reference in found("allocation logement")
    contact = Contact.objects.get(pk=rsa.contact_id)
    contact.name = "Marie Lefèvre"
    contact.save()
    assert rsa.reference in found("lefevre")  # accents ignored
    assert rsa.reference not in found("Durand lefevre")


def test_a_merge_moves_the_words_with_the_messages(world, fast_passwords):
    rsa, rsa2 = world.ticket("rsa"), world.ticket("rsa2")
    assert rsa2.reference in found("échéance") and rsa.reference not in found("échéance")
    merge(rsa2, rsa, world.users["alice"])
    assert rsa.reference in found("échéance")
    # The duplicate keeps its own subject, not the words of the messages it gave away.
    assert found("prochaine échéance") == {rsa.reference}


def test_a_deleted_message_takes_its_words(world):
    rsa = world.ticket("rsa")
    Message.objects.filter(ticket=rsa).delete()
    assert rsa.reference not in found("retard")
    assert rsa.reference in found("versé")  # still in the subject


def test_a_deleted_ticket_leaves_no_document(world):
    apa = world.ticket("apa")
    apa.delete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contacts_ticket_search WHERE ticket_id = %s", [apa.pk])
        assert cursor.fetchone()[0] == 0


def test_a_ticket_whose_document_is_full_still_takes_messages(world):
    # A tsvector holds at most 1 MB: a long thread of long, varied messages
    # fills it; the next messages are stored all the same (their words are
    # not searchable), and the ticket's first words still are.
    import random

    rng = random.Random(3)
    rsa = world.ticket("rsa")

    def gibberish():
        return " ".join("".join(rng.choice("bcdfghjklmnpqrstvz") for _ in range(9)) for _ in range(20_000))

    for _ in range(6):
        Message.objects.create(ticket=rsa, direction=Message.Direction.IN, channel="email", body_text=gibberish())
    Message.objects.create(
        ticket=rsa, direction=Message.Direction.IN, channel="email", body_text="Dernier mot: ornithorynque."
    )
    assert Message.objects.filter(ticket=rsa).count() == 8
    assert rsa.reference in found("retard")
