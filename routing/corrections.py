"""Learning from agents: every change of topic or service they make is a
routing correction, and the report says which words would have helped."""

from collections import Counter

from routing.models import RoutingCorrection


def record_correction(ticket, agent, *, topic=None, service=None):
    """Record what the router decided and what the agent says is right."""
    from routing.services import first_text

    changed_topic = topic is not None and topic.pk != ticket.topic_id
    changed_service = service is not None and service.pk != ticket.service_id
    if not (changed_topic or changed_service):
        return None
    return RoutingCorrection.objects.create(
        ticket=ticket,
        agent=agent,
        from_topic_id=ticket.topic_id,
        to_topic=topic if changed_topic else ticket.topic,
        from_service_id=ticket.service_id,
        to_service=service if changed_service else ticket.service,
        text=f"{ticket.subject}\n{first_text(ticket)}"[:2000],
    )


def routing_report(organisation=None, limit=10, words=8):
    """The topics agents most often corrected tickets to, with the topics the
    router had chosen, and the words frequent in those requests (normalised:
    folded, stemmed, without stop words) that the topic's title, keywords and
    examples lack: candidates for its keywords."""
    from routing.text import analyse

    corrections = RoutingCorrection.objects.select_related("to_topic__organisation", "from_topic__organisation")
    if organisation is not None:
        corrections = corrections.filter(ticket__organisation=organisation)
    by_topic = {}
    for correction in corrections.exclude(to_topic=None).order_by("pk"):
        if correction.to_topic_id != correction.from_topic_id:
            by_topic.setdefault(correction.to_topic, []).append(correction)
    report = []
    ranked = sorted(by_topic.items(), key=lambda pair: (-len(pair[1]), pair[0].slug))
    for topic, items in ranked[:limit]:
        known = set(analyse(" ".join([topic.title, *topic.keywords, *topic.examples])))
        counts = Counter(token for item in items for token in set(analyse(item.text)) if token not in known)
        origins = Counter(_name(item.from_topic) for item in items)
        report.append(
            {
                "topic": _name(topic),
                "corrections": len(items),
                "from": sorted(origins.items(), key=lambda pair: (-pair[1], pair[0]))[:3],
                "missing_words": [word for word, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:words],
            }
        )
    return report


def _name(topic):
    return f"{topic.organisation.slug}/{topic.slug}" if topic is not None else "-"
