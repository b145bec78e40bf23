"""The registry of senders: each delivery channel registers the function
that delivers an outbox row. The core looks senders up here and never imports
a channel."""

from collections.abc import Callable
from dataclasses import dataclass


class DeliveryError(Exception):
    """Base class of the errors a sender raises."""


class TemporaryDeliveryError(DeliveryError):
    """The provider may accept the same delivery later: retry with backoff."""


class PermanentDeliveryError(DeliveryError):
    """The delivery can never succeed (invalid recipient, rejected content)."""


@dataclass(frozen=True)
class Sender:
    deliver: Callable  # deliver(outbox_row) -> provider id (str)
    # True when sending the same row twice cannot reach the recipient twice
    # (the provider deduplicates on our idempotency key, or the recipient's
    # client does on a stable Message-ID). A row found stuck in "sending"
    # after a crash is then sent again; otherwise it is marked "unknown".
    resend_is_safe: bool = False


_registry: dict[str, Sender] = {}


def register_sender(channel, deliver, *, resend_is_safe=False):
    _registry[channel] = Sender(deliver=deliver, resend_is_safe=resend_is_safe)


def get_sender(channel):
    try:
        return _registry[channel]
    except KeyError:
        raise PermanentDeliveryError(f"no sender is registered for channel {channel!r}") from None
