"""What a citizen is told about a topic: the article, the questions that
narrow it, and the competent interlocutor for their place."""

from dataclasses import dataclass, field

import markdown
import nh3
from django.core import signing
from django.db import transaction

from channels_app.models import Orientation
from kb.models import Service, Topic
from kb.revision import memoised
from routing.territory import choose_service

ARTICLE_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "h2", "h3", "h4", "blockquote", "code"}


@dataclass
class Answer:
    topic: Topic
    article_html: str
    questions: list
    children: list
    service: Service | None
    contact_points: list = field(default_factory=list)
    elsewhere: bool = False  # another administration is competent

    @property
    def needs_narrowing(self):
        return bool(self.questions)


def article_html(text):
    """The topic's Markdown article as safe HTML (links open normally)."""
    if not text:
        return ""
    html = markdown.markdown(text, extensions=["sane_lists"], output_format="html")
    return nh3.clean(html, tags=ARTICLE_TAGS, attributes={"a": {"href", "title"}}, link_rel="noopener noreferrer")


def topic_for(organisation, slug, owner_slug=None):
    """A topic shown on an organisation's pages: its own, or, with
    ``owner_slug``, one of another organisation of the shared knowledge base
    (read once per knowledge-base revision)."""
    owner = owner_slug or organisation.slug

    def load():
        queryset = Topic.objects.select_related("organisation", "parent__organisation")
        return queryset.filter(organisation__slug=owner, slug=slug).first()

    return memoised(("portal-topic", owner, slug), load, keep_misses=False)


def answer_for(organisation, topic, postcode=""):
    questions = [
        (question, list(question.choices.all()))
        for question in topic.questions.prefetch_related("choices__target__organisation")
    ]
    children = list(topic.children.order_by("position", "title"))
    service, _reason = choose_service(topic.candidate_services(), postcode)
    points = list(service.contact_points.all()) if service is not None else []
    return Answer(
        topic=topic,
        article_html=article_html(topic.article),
        questions=questions,
        children=children,
        service=service,
        contact_points=points,
        elsewhere=service is not None and service.organisation_id != organisation.pk,
    )


def record_orientation(organisation, answer, *, channel, widget=None, postcode=""):
    """Record that this answer was shown (the indicator "oriented without a
    ticket" counts those that never got a ticket)."""
    return Orientation.objects.create(
        organisation=organisation,
        topic=answer.topic,
        service=answer.service,
        elsewhere=answer.elsewhere,
        channel=channel,
        widget=widget,
        postcode=postcode[:10],
    )


_SIGNER = signing.Signer(salt="aiguillage.orientation")


def orientation_token(orientation_id):
    """What a page or the API hands the citizen to carry to the request the
    orientation leads to: the id, signed, so that nobody can attach another
    visitor's orientation to their request by guessing ids."""
    return _SIGNER.sign(str(orientation_id))


def orientation_from_token(token):
    """The orientation id a token carries; None when it was not ours."""
    if token in (None, ""):
        return None
    try:
        return int(_SIGNER.unsign(str(token)))
    except (signing.BadSignature, ValueError):
        return None


def link_orientation(orientation_id, organisation, ticket):
    """The citizen wrote after reading an orientation: it led to this ticket."""
    if not orientation_id:
        return
    with transaction.atomic():
        Orientation.objects.filter(pk=orientation_id, organisation=organisation, ticket__isnull=True).update(
            ticket=ticket
        )
