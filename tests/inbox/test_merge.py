"""Merging a duplicate request into another of the same citizen: from the
ticket page and through the service; refusals change nothing; the citizen's
later messages quoting the duplicate's reference go to the target; two
agents merging a pair both ways round neither deadlock nor lose a message."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from contacts.models import Attachment, Message, Outbox, Ticket, TicketEvent
from contacts.services import TicketActionError, ingest
from contacts.services.merging import merge
from contacts.services.outbox import enqueue
from tests.inbox.world import build_world, inbound


def url(ticket, action=""):
    return f"/agents/demandes/{ticket.reference}/{action + '/' if action else ''}"


def state(*tickets):
    """What a refused merge must leave as it was."""
    return [
        (
            t.status,
            t.merged_into_id,
            sorted(Message.objects.filter(ticket=t).values_list("pk", flat=True)),
            TicketEvent.objects.filter(ticket=t).count(),
        )
        for t in (Ticket.objects.get(pk=t.pk) for t in tickets)
    ]


def sensitive_ticket_of_marie(n=50):
    """A request of the same citizen as "rsa" on a sensitive topic: Alice
    (insertion, accueil) may not see it."""
    return ingest(
        inbound(
            n,
            subject="Signalement",
            text="Un enfant est maltraité par ses parents, enfant en danger.",
            sender_email="usager1@citoyen.example",
            sender_name="Marie Durand",
        )
    ).ticket


@pytest.mark.django_db
def test_agent_merges_a_duplicate_from_the_ticket_page(world, login):
    alice = world.users["alice"]
    client = login(alice)
    source, target = world.ticket("rsa"), world.ticket("rsa2")
    moved = list(source.messages.values_list("pk", flat=True))
    document = Attachment.objects.get(message__ticket=source)

    page = client.get(url(source)).content.decode()
    assert "Fusionner dans…" in page
    assert f'<option value="{target.reference}">' in page
    assert f'<option value="{world.ticket("apa").reference}">' not in page  # another citizen's

    # Without the confirmation: refused, nothing changes.
    before = state(source, target)
    refused = client.post(url(source, "fusionner"), {"into": target.reference})
    assert refused.status_code == 400
    assert "Cochez la case pour confirmer la fusion." in refused.content.decode()
    assert state(source, target) == before

    response = client.post(url(source, "fusionner"), {"into": target.reference, "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == url(target)

    source, target = Ticket.objects.get(pk=source.pk), Ticket.objects.get(pk=target.pk)
    assert source.status == Ticket.Status.CLOSED and source.closed_at is not None
    assert source.merged_into == target
    assert not source.messages.exists()
    assert set(moved) <= set(target.messages.values_list("pk", flat=True))
    assert Attachment.objects.get(pk=document.pk).message.ticket == target
    into = TicketEvent.objects.get(ticket=source, kind=TicketEvent.Kind.MERGED_INTO)
    assert into.actor == alice and into.data["into"] == target.reference
    merged_from = TicketEvent.objects.get(ticket=target, kind=TicketEvent.Kind.MERGED_FROM)
    assert merged_from.actor == alice and merged_from.data == {"source": source.reference, "messages": moved}

    # The target's page tells where the messages came from, in French, and
    # serves the moved document.
    html = client.get(url(target)).content.decode()
    assert f"Demande {source.reference} fusionnée dans celle-ci." in html
    assert f"1 message de {source.reference} déplacé ici." in html
    assert f"depuis {source.reference}" in html
    assert "je n&#x27;ai pas reçu mon RSA" in html
    assert client.get(f"/agents/pieces/{document.pk}/").status_code == 200
    # The duplicate's page points to the target, and offers no merge any more.
    html = client.get(url(source)).content.decode()
    assert "Cette demande a été fusionnée dans" in html and url(target) in html
    assert "Fusionner dans…" not in html


@pytest.mark.django_db
def test_merge_service_moves_messages_and_keeps_the_outbox_deliverable(world, eager_celery):
    alice = world.users["alice"]
    source, target = world.ticket("rsa"), world.ticket("rsa2")
    source.tags = ["rsa", "retard"]
    source.save(update_fields=["tags"])
    target.tags = ["rsa"]
    target.save(update_fields=["tags"])
    from django.db import transaction

    with transaction.atomic():
        queued = enqueue(
            "email",
            "usager1@citoyen.example",
            {"subject": "Votre demande", "text": "Bonjour", "message_id": "<late@aiguillage.example>"},
            idempotency_key="test:late-answer",
            ticket=source,
        )
        Outbox.objects.filter(pk=queued.pk).update(status=Outbox.Status.QUEUED)
    messages_before = Message.objects.filter(ticket__in=[source, target]).count()

    assert merge(source, target, alice) == Ticket.objects.get(pk=target.pk)

    target = Ticket.objects.get(pk=target.pk)
    assert Message.objects.filter(ticket=target).count() == messages_before
    assert target.tags == ["rsa", "retard"]  # the duplicate's tags join the target's
    # The row queued for the duplicate is still delivered.
    from contacts.services.outbox import deliver

    deliver(queued.pk)
    assert Outbox.objects.get(pk=queued.pk).status == Outbox.Status.SENT


@pytest.mark.django_db
def test_refused_merges_say_why_and_change_nothing(world):
    alice = world.users["alice"]
    rsa, rsa2, apa, elsewhere = (world.ticket(name) for name in ("rsa", "rsa2", "apa", "elsewhere"))
    before = state(rsa, rsa2, apa, elsewhere)
    cases = [
        (rsa, rsa, "Une demande ne peut pas être fusionnée avec elle-même."),
        (rsa, apa, f"La demande {apa.reference} vient d’un autre usager"),
        (rsa, elsewhere, "Seules des demandes de la même organisation peuvent être fusionnées."),
    ]
    for source, target, french in cases:
        with pytest.raises(TicketActionError) as refused:
            merge(source, target, alice)
        assert french in str(refused.value)
    assert state(rsa, rsa2, apa, elsewhere) == before

    # A closed target receives nothing; a closed duplicate is not merged.
    Ticket.objects.filter(pk=rsa2.pk).update(status=Ticket.Status.CLOSED)
    before = state(rsa, rsa2)
    with pytest.raises(TicketActionError, match=f"La demande {rsa2.reference} est close : rien ne peut y être"):
        merge(rsa, rsa2, alice)
    with pytest.raises(TicketActionError, match=f"La demande {rsa2.reference} est close : elle ne peut pas être"):
        merge(rsa2, rsa, alice)
    assert state(rsa, rsa2) == before


@pytest.mark.django_db
def test_a_merged_ticket_cannot_be_a_target_or_merged_again(world):
    alice = world.users["alice"]
    rsa, rsa2 = world.ticket("rsa"), world.ticket("rsa2")
    third = ingest(inbound(60, subject="Encore moi", text="Bonjour", sender_email="usager1@citoyen.example")).ticket
    merge(rsa, rsa2, alice)
    with pytest.raises(TicketActionError, match=f"La demande {rsa.reference} a été fusionnée dans une autre"):
        merge(third, rsa, alice)
    with pytest.raises(TicketActionError, match=f"La demande {rsa.reference} a déjà été fusionnée"):
        merge(rsa, third, alice)


@pytest.mark.django_db
def test_merge_views_refuse_bad_targets(world, login):
    client = login(world.users["alice"])
    rsa, rsa2, apa = world.ticket("rsa"), world.ticket("rsa2"), world.ticket("apa")
    hidden = sensitive_ticket_of_marie()
    assert not Ticket.objects.visible_to(world.users["alice"]).filter(pk=hidden.pk).exists()
    before = state(rsa, rsa2, apa, hidden)

    # Not visible, another organisation's, not a reference at all: 404.
    for reference in (hidden.reference, world.ticket("elsewhere").reference, "NOPE-2026-000000"):
        response = client.post(url(rsa, "fusionner"), {"into": reference, "confirm": "on"})
        assert response.status_code == 404
    # An invisible source: 404 as well.
    assert client.post(url(hidden, "fusionner"), {"into": rsa.reference, "confirm": "on"}).status_code == 404

    response = client.post(url(rsa, "fusionner"), {"into": apa.reference, "confirm": "on"})
    assert response.status_code == 400
    assert f"La demande {apa.reference} vient d’un autre usager" in response.content.decode()
    response = client.post(url(rsa, "fusionner"), {"into": rsa.reference, "confirm": "on"})
    assert response.status_code == 400
    assert "Une demande ne peut pas être fusionnée avec elle-même." in response.content.decode()
    response = client.post(url(rsa, "fusionner"), {"confirm": "on"})
    assert response.status_code == 400
    assert "Choisissez la demande dans laquelle fusionner celle-ci." in response.content.decode()
    assert state(rsa, rsa2, apa, hidden) == before

    # The agent who may see both can merge them.
    chloe = login(world.users["chloe"])
    assert Ticket.objects.visible_to(world.users["chloe"]).filter(pk=hidden.pk).exists()
    html = chloe.get(url(hidden)).content.decode()
    assert f'<option value="{rsa.reference}">' in html


@pytest.mark.django_db
def test_the_citizen_quoting_the_duplicate_reference_writes_to_the_target(world):
    source, target = world.ticket("rsa"), world.ticket("rsa2")
    merge(source, target, world.users["alice"])
    tickets_before = Ticket.objects.count()

    later = ingest(
        inbound(
            70,
            subject=f"Re: votre demande {source.reference}",
            text="Toujours rien reçu.",
            sender_email="usager1@citoyen.example",
        )
    )
    assert later.outcome == "threaded" and later.ticket.pk == target.pk
    assert Ticket.objects.count() == tickets_before
    assert Message.objects.get(pk=later.message.pk).ticket_id == target.pk

    # Answering one of the duplicate's messages (In-Reply-To) lands there too.
    first_id = Message.objects.filter(ticket=target, direction="in").order_by("pk").first().external_id
    reply = ingest(inbound(71, text="Et alors ?", sender_email="usager1@citoyen.example", in_reply_to=[first_id]))
    assert reply.outcome == "threaded" and reply.ticket.pk == target.pk

    # Once the target is closed, quoting the duplicate opens a new request
    # that follows the target.
    Ticket.objects.filter(pk=target.pk).update(status=Ticket.Status.CLOSED)
    fresh = ingest(inbound(72, subject=f"{source.reference}", text="Bonjour", sender_email="usager1@citoyen.example"))
    assert fresh.outcome == "created"
    created = TicketEvent.objects.get(ticket=fresh.ticket, kind=TicketEvent.Kind.CREATED)
    assert created.data["follows"] == target.reference


@pytest.mark.django_db
def test_the_database_refuses_a_merged_ticket_that_is_open(world):
    from django.db import IntegrityError, transaction

    rsa, rsa2 = world.ticket("rsa"), world.ticket("rsa2")
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=rsa.pk).update(merged_into=rsa2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=rsa.pk).update(merged_into=rsa, status=Ticket.Status.CLOSED)


@pytest.mark.django_db(transaction=True)
def test_concurrent_merges_both_ways_neither_deadlock_nor_lose_messages(fast_passwords):
    world = build_world()
    alice, bruno = world.users["alice"], world.users["bruno"]
    for round_ in range(4):
        a = ingest(inbound(100 + 2 * round_, subject="A", text="Bonjour A", sender_email="pair@citoyen.example")).ticket
        b = ingest(inbound(101 + 2 * round_, subject="B", text="Bonjour B", sender_email="pair@citoyen.example")).ticket
        messages = set(Message.objects.filter(ticket__in=[a, b]).values_list("pk", flat=True))
        start = threading.Barrier(2)
        outcomes = {}

        def run(name, source, target, user, start=start, outcomes=outcomes):
            try:
                start.wait(timeout=10)
                merge(source, target, user)
                outcomes[name] = "merged"
            except TicketActionError as exc:
                outcomes[name] = str(exc)
            except Exception as exc:  # a deadlock would land here
                outcomes[name] = f"{type(exc).__name__}: {exc}"
            finally:
                connection.close()

        threads = [
            threading.Thread(target=run, args=("a→b", a, b, alice)),
            threading.Thread(target=run, args=("b→a", b, a, bruno)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert sorted(outcomes) == ["a→b", "b→a"]
        assert list(outcomes.values()).count("merged") == 1, outcomes
        loser = next(text for text in outcomes.values() if text != "merged")
        assert "a déjà été fusionnée" in loser or "a été fusionnée dans une autre" in loser, loser
        a, b = Ticket.objects.get(pk=a.pk), Ticket.objects.get(pk=b.pk)
        merged, kept = (a, b) if a.merged_into_id else (b, a)
        assert merged.merged_into_id == kept.pk and merged.status == Ticket.Status.CLOSED
        assert kept.merged_into_id is None and kept.status != Ticket.Status.CLOSED
        assert set(Message.objects.filter(ticket=kept).values_list("pk", flat=True)) == messages
        assert TicketEvent.objects.filter(ticket__in=[a, b], kind=TicketEvent.Kind.MERGED_FROM).count() == 1


@pytest.mark.django_db
def test_a_sensitive_request_merges_only_into_a_sensitive_one_of_its_service(world):
    chloe = world.users["chloe"]
    secret = world.ticket("secret")
    plain = ingest(
        inbound(70, subject="Mon RSA", text="Mon RSA n'a pas été versé.", sender_email=secret.contact.email)
    ).ticket
    assert secret.topic.sensitive and not plain.topic.sensitive
    before = state(secret, plain)
    with pytest.raises(TicketActionError, match="sujet sensible"):
        merge(secret, plain, chloe)  # its messages would be read by everyone who reads the other
    assert state(secret, plain) == before
    merge(plain, secret, chloe)  # the other way round, nothing is exposed
    assert Ticket.objects.get(pk=plain.pk).merged_into_id == secret.pk


@pytest.mark.django_db
def test_a_duplicate_names_where_it_went_only_to_who_may_open_it(world, login):
    chloe, alice = world.users["chloe"], world.users["alice"]
    secret = world.ticket("secret")
    plain = ingest(
        inbound(71, subject="Mon RSA", text="Mon RSA n'a pas été versé.", sender_email=secret.contact.email)
    ).ticket
    merge(plain, secret, chloe)
    seen_by_chloe = login(chloe).get(f"/agents/demandes/{plain.reference}/").content.decode()
    assert secret.reference in seen_by_chloe
    seen_by_alice = login(alice).get(f"/agents/demandes/{plain.reference}/").content.decode()
    assert "Cette demande a été fusionnée dans une autre demande." in seen_by_alice
    assert f'href="/agents/demandes/{secret.reference}/"' not in seen_by_alice
    # Not even its reference, in the banner, the timeline or the API: Alice
    # must not learn that the citizen has a request on a sensitive topic.
    assert secret.reference not in seen_by_alice
    assert "Fusionnée dans une autre demande" in seen_by_alice
    client = APIClient()
    client.force_authenticate(alice)
    detail = client.get(f"/api/v1/tickets/{plain.reference}/")
    assert detail.status_code == 200
    assert secret.reference not in detail.content.decode()
