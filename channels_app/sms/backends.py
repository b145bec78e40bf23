"""SMS backends behind one interface, chosen by settings.SMS_BACKEND like
Django's email backends."""

import itertools
import sys

from django.conf import settings
from django.utils.module_loading import import_string


class BaseSmsBackend:
    def send(self, to, text, *, reference):
        """Send ``text`` to the E.164 number ``to``; return the provider's id.

        ``reference`` is our idempotency key, passed to providers that accept
        a client reference. Raise contacts.senders.TemporaryDeliveryError or
        PermanentDeliveryError on failure.
        """
        raise NotImplementedError


class ConsoleBackend(BaseSmsBackend):
    """Writes each SMS to standard output (the embedded default)."""

    _ids = itertools.count(1)

    def send(self, to, text, *, reference):
        sys.stdout.write(f"SMS to {to} [{reference}]\n{text}\n{'-' * 40}\n")
        sys.stdout.flush()
        return f"console-{next(self._ids)}"


class LocmemBackend(BaseSmsBackend):
    """Keeps sent SMS in ``LocmemBackend.outbox`` (tests)."""

    outbox = []

    def send(self, to, text, *, reference):
        self.outbox.append({"to": to, "text": text, "reference": reference})
        return f"locmem-{len(self.outbox)}"


def get_backend():
    return import_string(settings.SMS_BACKEND)()
