"""Reply templates in the composer: which ones are offered, and rendering
one for a ticket with the sandboxed renderer of ``kb.templating``."""

from django import forms
from django.db.models import Case, ExpressionWrapper, IntegerField, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kb.models import ReplyTemplate
from kb.templating import TemplateRenderError, render_template


def templates_for(ticket, channel=None):
    """The organisation's templates that fit the answer's channel (or the
    ticket's own), those suggested for the ticket's topic (or its parent
    topic) first, with ``suggested`` set."""
    suggested = Value(0)
    if ticket.topic_id:
        topics = [ticket.topic_id] + ([ticket.topic.parent_id] if ticket.topic.parent_id else [])
        links = ReplyTemplate.topics.through.objects.filter(topic_id__in=topics).values("replytemplate_id")
        suggested = Case(When(pk__in=links, then=Value(1)), default=Value(0))
    templates = (
        ReplyTemplate.objects.filter(organisation_id=ticket.organisation_id)
        .annotate(suggested=ExpressionWrapper(suggested, output_field=IntegerField()))
        .order_by("-suggested", "position", "name")
    )
    fitting = {channel, ticket.channel} - {None}
    return [template for template in templates if not template.channels or fitting & set(template.channels)]


class TemplateChoice(forms.Form):
    template = forms.ModelChoiceField(label=gettext_lazy("Template"), queryset=ReplyTemplate.objects.none())

    def __init__(self, *args, ticket, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = ReplyTemplate.objects.filter(organisation_id=ticket.organisation_id)


def context_for(ticket, agent):
    """The variables a template may use, as plain values (never models)."""
    contact = ticket.contact
    service = ticket.service
    return {
        "contact": {
            "name": contact.name,
            "first_name": contact.first_name,
            "email": contact.email,
            "phone": contact.phone,
            "postcode": contact.postcode,
        },
        "ticket": {
            "reference": ticket.reference,
            "subject": ticket.subject,
            "channel": ticket.get_channel_display(),
            "status": ticket.get_status_display(),
            "created_at": ticket.created_at,
            "due_at": ticket.due_at,
        },
        "agent": {
            "name": agent.get_full_name() or agent.username,
            "first_name": agent.first_name,
            "last_name": agent.last_name,
            "email": agent.email,
        },
        "service": {"name": service.name, "description": service.description} if service else {},
        "organisation": {"name": ticket.organisation.name},
    }


def render_reply_template(template, ticket, agent):
    """The subject and text of ``template`` for this ticket; ValueError with
    a French message when a variable it needs has no value."""
    context = context_for(ticket, agent)
    try:
        return {
            "subject": render_template(template.subject, context, strict=True).strip(),
            "text": render_template(template.body, context, strict=True).strip(),
        }
    except TemplateRenderError as exc:
        raise ValueError(
            _("The template “%(name)s” cannot be used for this ticket: %(problem)s")
            % {"name": template.name, "problem": exc}
        ) from exc
