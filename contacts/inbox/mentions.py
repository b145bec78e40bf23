"""@mentions in internal notes: which colleagues a note names, and the note
shown with them highlighted."""

import re

from django.db.models import Q
from django.utils.html import escape, linebreaks
from django.utils.safestring import mark_safe

from contacts.inbox.forms import agents_of

MENTION = re.compile(r"(?<![\w@])@([\w.+-]*\w)")


def mentioned_agents(organisation, text, exclude=None):
    """The active agents of the organisation whose username the text names."""
    names = sorted({name.lower() for name in MENTION.findall(text or "")})[:20]
    if not names:
        return []
    condition = Q()
    for name in names:
        condition |= Q(username__iexact=name)
    agents = agents_of(organisation).filter(condition)
    return [user for user in agents if exclude is None or user.pk != exclude.pk]


def note_html(text):
    """The note as paragraphs, @names highlighted (everything else escaped)."""
    highlighted = MENTION.sub(lambda match: f'<strong class="mention">@{match.group(1)}</strong>', escape(text or ""))
    return mark_safe(linebreaks(highlighted))  # noqa: S308 (escaped above)
