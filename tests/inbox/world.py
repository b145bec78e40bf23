"""A demo organisation (the shipped knowledge base), its agents, a second
organisation, and routed tickets across channels (also used by tests/e2e)."""

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

from contacts.inbound import InboundAttachment, InboundMessage
from contacts.models import AgentProfile, Ticket
from contacts.services import ingest
from kb.importer import import_files
from kb.models import Organisation, Service

DEMO_KB = Path(settings.BASE_DIR) / "kb" / "fixtures" / "demo.yaml"
PASSWORD = "mot-de-passe-solide-42"


@dataclass
class World:
    organisation: Organisation
    other: Organisation
    users: dict = field(default_factory=dict)
    tickets: dict = field(default_factory=dict)

    def ticket(self, name):
        return Ticket.objects.get(pk=self.tickets[name].pk)


def make_agent(username, organisation, services=(), role=AgentProfile.Role.AGENT, **names):
    user = get_user_model().objects.create_user(username, password=PASSWORD, **names)
    profile = AgentProfile.objects.create(user=user, organisation=organisation, role=role)
    profile.services.set(Service.objects.filter(organisation=organisation, slug__in=services))
    return user


def inbound(n, organisation="demo", **values):
    defaults = {
        "channel": "email",
        "external_id": f"<inbox-{n}@citoyen.example>",
        "organisation": organisation,
        "sender_email": f"usager{n}@citoyen.example",
        "sender_name": f"Usager {n}",
    }
    defaults.update(values)
    return InboundMessage(**defaults)


def build_world():
    import_files([DEMO_KB])
    organisation = Organisation.objects.get(slug="demo")
    organisation.services.filter(slug="accueil").update(is_triage=True)
    other = Organisation.objects.create(slug="autre", name="Commune voisine", kind="commune")
    Service.objects.create(organisation=other, slug="mairie", name="Mairie", is_triage=True)
    w = World(organisation=organisation, other=other)
    w.users = {
        "alice": make_agent("alice", organisation, ["insertion", "accueil"], first_name="Alice", last_name="Martin"),
        "bruno": make_agent("bruno", organisation, ["insertion"], first_name="Bruno", last_name="Petit"),
        "chloe": make_agent("chloe", organisation, ["enfance"], first_name="Chloé", last_name="Roux"),
        "sam": make_agent("sam", organisation, ["accueil"], role=AgentProfile.Role.SUPERVISOR, first_name="Sam"),
        "olga": make_agent("olga", other, ["mairie"], first_name="Olga"),
    }
    w.users["nobody"] = get_user_model().objects.create_user("nobody", password=PASSWORD)
    w.tickets["rsa"] = ingest(
        inbound(
            1,
            subject="Mon RSA n'a pas été versé",
            text="Bonjour, je n'ai pas reçu mon RSA ce mois-ci, le versement est en retard.",
            sender_name="Marie Durand",
            attachments=[InboundAttachment("releve.txt", "text/plain", b"Releve de compte\n")],
        )
    ).ticket
    w.tickets["rsa2"] = ingest(
        inbound(
            2,
            subject="Question sur l'échéancier",
            text="Je voudrais savoir quand sera la prochaine échéance.",
            sender_email="usager1@citoyen.example",
            sender_name="Marie Durand",
        )
    ).ticket
    w.tickets["apa"] = ingest(
        inbound(
            3,
            channel="sms",
            external_id="sms-3",
            sender_email="",
            sender_phone="+33639981111",
            sms_consent=True,
            text="Bonjour, comment demander l'APA pour ma mère âgée ?",
        )
    ).ticket
    w.tickets["secret"] = ingest(
        inbound(4, subject="Enfant en danger", text="Un enfant est maltraité par ses parents, enfant en danger.")
    ).ticket
    w.tickets["elsewhere"] = ingest(
        inbound(5, organisation="autre", subject="Ordures", text="Les poubelles ne sont pas ramassées.")
    ).ticket
    return w
