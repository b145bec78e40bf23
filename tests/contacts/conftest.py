import pytest

from contacts.inbound import InboundMessage


@pytest.fixture
def make_inbound(organisation):
    counter = iter(range(1, 10_000))

    def make(**overrides):
        values = {
            "channel": "email",
            "external_id": f"<msg-{next(counter)}@citoyen.example>",
            "organisation": organisation.slug,
            "sender_email": "Marie.Durand@Citoyen.example",
            "sender_name": "Marie Durand",
            "subject": "Mon RSA n'a pas été versé",
            "text": "Bonjour, je n'ai pas reçu mon RSA ce mois-ci.",
        }
        values.update(overrides)
        return InboundMessage(**values)

    return make
