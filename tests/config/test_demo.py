import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from contacts.models import Outbox, Ticket


@pytest.mark.django_db
def test_demo_data_creates_tickets_across_channels_once(eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_data")
    call_command("demo_data")

    assert set(Ticket.objects.values_list("channel", flat=True)) == {"email", "form", "sms", "chat"}
    assert Ticket.objects.count() == 4
    users = get_user_model().objects
    assert users.get(username="admin").is_superuser
    assert users.get(username="agent1").check_password("agent1")
    assert not Outbox.objects.exclude(status=Outbox.Status.SENT).exists()


@pytest.mark.django_db
def test_admin_pages_answer_for_the_demo_administrator(client, eager_celery):
    call_command("demo_data")
    client.login(username="admin", password="admin")
    ticket = Ticket.objects.first()
    for url in [
        "/admin/",
        "/admin/contacts/ticket/",
        f"/admin/contacts/ticket/{ticket.pk}/change/",
        "/admin/contacts/contact/",
        "/admin/contacts/outbox/",
        "/admin/contacts/ticketevent/",
        "/admin/kb/organisation/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert "Demandes" in client.get("/admin/").content.decode()  # French first


def test_english_is_the_second_language():
    from django.utils import translation

    from contacts.models import Ticket

    with translation.override("en"):
        assert str(Ticket._meta.verbose_name_plural) == "tickets"
    with translation.override("fr"):
        assert str(Ticket._meta.verbose_name_plural) == "demandes"


@pytest.mark.django_db
def test_demo_contact_form_and_widget_answer(client, eager_celery):
    call_command("demo_data")
    assert "Comment pouvons-nous vous aider" in client.get("/contact/demo/").content.decode()
    assert client.get("/w/demo/").status_code == 200
    client.login(username="admin", password="admin")
    for url in ["/admin/channels_app/widget/", "/admin/channels_app/orientation/", "/admin/channels_app/branding/"]:
        assert client.get(url).status_code == 200, url
    widget = client.get("/admin/channels_app/widget/").content.decode()
    assert "Site de démonstration" in widget
