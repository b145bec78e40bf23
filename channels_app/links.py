"""Links sent to citizens: the signed address of a ticket's follow-up page.

The token is ``django.core.signing.dumps(ticket.pk, salt="followup")``:
short enough for an SMS, unguessable without SECRET_KEY, and timestamped so
the page can refuse old links (``read_followup_token(token, max_age)``).
The page itself (``/suivi/<token>/``) is another issue's.
"""

from django.conf import settings
from django.core import signing

SALT = "followup"


def followup_token(ticket):
    return signing.dumps(ticket.pk, salt=SALT)


def followup_url(ticket):
    """The absolute, signed URL of this ticket's follow-up page."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/suivi/{followup_token(ticket)}/"


def read_followup_token(token, max_age=None):
    """The ticket id a token was made for.

    Raises ``signing.SignatureExpired`` when it is older than ``max_age``
    (seconds or a timedelta) and ``signing.BadSignature`` when it was not
    made by us (or was altered).
    """
    value = signing.loads(token, salt=SALT, max_age=max_age)
    if not isinstance(value, int):
        raise signing.BadSignature("the token does not name a ticket")
    return value
