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
    """The topics most often corrected to, and the frequent words of those
    requests that the topic's vocabulary lacks."""
    from routing.text import analyse

    corrections = RoutingCorrection.objects.select_related("to_topic", "from_topic")
    if organisation is not None:
        corrections = corrections.filter(ticket__organisation=organisation)
    by_topic = {}
    for correction in corrections:
        if correction.to_topic is None:
            continue
        by_topic.setdefault(correction.to_topic, []).append(correction)
    report = []
    for topic, items in sorted(by_topic.items(), key=lambda pair: -len(pair[1]))[:limit]:
        known = set(analyse(" ".join([topic.title, *topic.keywords, *topic.examples])))
        counts = Counter(token for item in items for token in set(analyse(item.text)) if token not in known)
        report.append(
            {
                "topic": f"{topic.organisation.slug}/{topic.slug}",
                "corrections": len(items),
                "from": Counter(str(i.from_topic.slug if i.from_topic else "-") for i in items).most_common(3),
                "missing_words": [word for word, _ in counts.most_common(words)],
            }
        )
    return report
