"""The orientation assistant: answers only from the knowledge base, never
invents. A clear match gets the topic's answer (article, competent
interlocutor, questions as buttons); otherwise the closest topics as
buttons; always the way to a person."""

from django.utils.translation import gettext as _

from channels_app.portal.orientation import answer_for
from channels_app.portal.search import search_topics

MAX_SUGGESTIONS = 4


def agent_button():
    return {"action": "agent", "label": _("Talk to an agent")}


def solved_button():
    return {"action": "close", "label": _("My question is answered")}


def topic_reply(organisation, topic, postcode=""):
    """(text, data, answer) for a topic: what the knowledge base says of it."""
    answer = answer_for(organisation, topic, postcode)
    buttons = []
    for question, choices in answer.questions:
        for choice in choices:
            buttons.append(
                {
                    "action": "choose",
                    "topic": f"{choice.target.organisation.slug}/{choice.target.slug}",
                    "label": choice.label,
                    "question": question.text,
                }
            )
    data = {"topic": f"{topic.organisation.slug}/{topic.slug}", "title": topic.title}
    if answer.article_html:
        data["article_html"] = answer.article_html
    if answer.service is not None and not answer.needs_narrowing:
        data["service"] = {
            "name": answer.service.name,
            "organisation": answer.service.organisation.name,
            "elsewhere": answer.elsewhere,
            "contact_points": [
                {"kind": p.kind, "label": p.label or p.get_kind_display(), "value": p.value, "hours": p.hours}
                for p in answer.contact_points
            ],
        }
    if not answer.needs_narrowing:
        buttons.append(solved_button())
    buttons.append(agent_button())
    data["buttons"] = buttons
    if answer.needs_narrowing:
        text = answer.questions[0][0].text
    elif answer.elsewhere:
        text = _("%(topic)s: %(organisation)s handles this request.") % {
            "topic": topic.title,
            "organisation": answer.service.organisation.name,
        }
    else:
        text = topic.title
    return text, data, answer


def reply_to(organisation, text):
    """(text, data, topic or None) answering a citizen's free text."""
    from kb.models import Topic
    from routing.matcher import get_matcher

    result = get_matcher().match("", text, limit=MAX_SUGGESTIONS)
    if not result.abstained and result.candidates:
        topic = Topic.objects.select_related("organisation").filter(pk=result.candidates[0].doc.id).first()
        if topic is not None:
            reply, data, _answer = topic_reply(organisation, topic)
            return reply, data, topic
    hits = search_topics(text, limit=MAX_SUGGESTIONS)
    if hits:
        buttons = [{"action": "choose", "topic": f"{h.organisation}/{h.slug}", "label": h.title} for h in hits]
        return (
            _("I am not sure I understood. Is it one of these?"),
            {"buttons": [*buttons, agent_button()]},
            None,
        )
    return (
        _("I found nothing about this in our information. Rephrase your question, or talk to an agent."),
        {"buttons": [agent_button()]},
        None,
    )
