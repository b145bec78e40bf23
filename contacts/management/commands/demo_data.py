"""Create a demo organisation, its services, an administrator, two agents
and a handful of tickets across channels. Running it again changes nothing."""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from contacts.inbound import InboundAttachment, InboundMessage
from contacts.models import AgentProfile
from contacts.services import ingest, note, reply
from kb.importer import import_files
from kb.models import Organisation

DEMO_USERS = [
    # username, password, is_superuser
    ("admin", "admin", True),
    ("agent1", "agent1", False),
    ("agent2", "agent2", False),
]

DEMO_KB = Path(settings.BASE_DIR) / "kb" / "fixtures" / "demo.yaml"


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
            sms_consent_source="form",
            sms_consent_evidence="J'accepte de recevoir des SMS sur ma demande (démo).",
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
            sms_consent_source="sms_message",
            sms_consent_evidence="bjr la route de vaudrenval est inondée c dangereux",
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
        import_files([DEMO_KB])
        organisation = Organisation.objects.get(slug="demo")
        if not organisation.services.filter(is_triage=True).exists():
            organisation.services.filter(slug="accueil").update(is_triage=True)

        agent_services = {"agent1": ["insertion", "accueil"], "agent2": ["autonomie", "solidarites", "enfance"]}
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
            if username in agent_services:
                profile, _ = AgentProfile.objects.get_or_create(user=user, defaults={"organisation": organisation})
                profile.services.set(organisation.services.filter(slug__in=agent_services[username]))
            users[username] = user

        from channels_app.models import Branding, Widget

        Branding.objects.get_or_create(organisation=organisation, defaults={"colour": "#1f4e79"})
        Widget.objects.get_or_create(
            organisation=organisation,
            name="Site de démonstration",
            defaults={"key": "demo", "allowed_origins": ["http://127.0.0.1:8000", "http://localhost:8000"]},
        )

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
        self.stdout.write(f"Contact form: /contact/{organisation.slug}/ (embeddable widget key: demo)")
