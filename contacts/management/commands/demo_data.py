"""Create a demo organisation, its services, an administrator, two agents
and a handful of tickets across channels. Running it again changes nothing."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from contacts.inbound import InboundAttachment, InboundMessage
from contacts.services import ingest, note, reply
from kb.models import Organisation, Service

DEMO_USERS = [
    # username, password, is_superuser
    ("admin", "admin", True),
    ("agent1", "agent1", False),
    ("agent2", "agent2", False),
]

SERVICES = [
    ("accueil", "Accueil général", True, 48),
    ("insertion", "Direction de l'insertion et de l'emploi", False, 72),
    ("autonomie", "Direction de l'autonomie", False, 48),
    ("routes", "Direction des routes", False, 120),
]


def demo_messages(now):
    return [
        InboundMessage(
            channel="email",
            external_id="<demo-1@citoyen.example>",
            organisation="demo",
            sender_email="Marie.Durand@citoyen.example",
            sender_name="Marie Durand",
            subject="Mon RSA n'a pas été versé",
            text="Bonjour,\nje n'ai pas reçu mon RSA ce mois-ci. Pouvez-vous vérifier ?\nMerci,\nMarie Durand",
            received_at=now - timedelta(hours=30),
        ),
        InboundMessage(
            channel="form",
            external_id="demo-form-2",
            organisation="demo",
            sender_email="jean.martin@citoyen.example",
            sender_phone="06 39 98 12 34",
            sender_name="Jean Martin",
            postcode="99100",
            subject="Demande d'APA pour ma mère",
            text="Ma mère de 86 ans ne peut plus vivre seule, comment demander l'APA ?",
            sms_consent=True,
            attachments=[InboundAttachment("certificat.txt", "text/plain", b"Certificat medical (demo)\n")],
            received_at=now - timedelta(hours=20),
        ),
        InboundMessage(
            channel="sms",
            external_id="demo-sms-3",
            organisation="demo",
            sender_phone="+33639981111",
            text="bjr la route de vaudrenval est inondée c dangereux",
            thread_on_open_ticket=True,
            sms_consent=True,
            received_at=now - timedelta(hours=5),
        ),
        InboundMessage(
            channel="chat",
            external_id="demo-chat-4",
            organisation="demo",
            sender_name="Visiteur",
            sender_email="visiteur@citoyen.example",
            text="Quels sont les horaires de l'accueil du Département ?",
            received_at=now - timedelta(hours=2),
        ),
    ]


class Command(BaseCommand):
    help = "Create demo data: an organisation, services, an administrator, two agents and tickets."

    @transaction.atomic
    def handle(self, *args, **options):
        organisation, _ = Organisation.objects.get_or_create(
            slug="demo",
            defaults={"name": "Département de démonstration", "kind": "departement", "reference_prefix": "DEMO"},
        )
        for position, (slug, name, is_triage, sla) in enumerate(SERVICES):
            Service.objects.get_or_create(
                organisation=organisation,
                slug=slug,
                defaults={"name": name, "is_triage": is_triage, "sla_hours": sla, "position": position},
            )

        User = get_user_model()
        users = {}
        agent_permissions = Permission.objects.filter(
            content_type__app_label__in=["contacts", "kb"], codename__regex=r"^(view|change)_"
        )
        for username, password, is_superuser in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": True, "is_superuser": is_superuser}
            )
            if created:
                user.set_password(password)
                user.save()
                if not is_superuser:
                    user.user_permissions.set(agent_permissions)
            users[username] = user

        now = timezone.now()
        results = [ingest(message) for message in demo_messages(now)]
        first = results[0]
        if first.outcome == "created":
            note(first.ticket, users["agent1"], "Vérifier le dossier CAF avant de répondre.")
            reply(
                first.ticket,
                users["agent1"],
                "Bonjour Madame Durand,\nnous vérifions votre dossier et revenons vers vous sous 48 heures.",
            )
        created = sum(result.outcome == "created" for result in results)
        self.stdout.write(f"Demo organisation « {organisation.name} »: {created} new tickets.")
        self.stdout.write("Logins: " + ", ".join(f"{u} / {p}" for u, p, _ in DEMO_USERS))
