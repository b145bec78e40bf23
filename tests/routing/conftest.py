import pytest

from contacts.inbound import InboundMessage
from contacts.services import ingest


@pytest.fixture
def make_ticket(organisation):
    counter = iter(range(1, 1000))

    def make(**overrides):
        n = next(counter)
        values = {
            "channel": "email",
            "external_id": f"<t{n}@citoyen.example>",
            "organisation": organisation.slug,
            "sender_email": f"c{n}@citoyen.example",
            "subject": "Demande",
            "text": "Bonjour",
        }
        created_at = overrides.pop("created_at", None)
        if created_at:
            values["received_at"] = created_at
        values.update(overrides)
        return ingest(InboundMessage(**values)).ticket

    return make
