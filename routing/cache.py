"""What routing reads of the knowledge base and of the routing settings,
kept per knowledge-base revision (``kb.revision.memoised``): every change to
them bumps the revision, so a process never routes on stale settings, and
routing a message costs no query for them.

The cached rows are shared: read them, never change them.
"""

from kb import revision


def rules(organisation):
    """The organisation's active rules by stage, as ``rules_for`` gives them."""
    from routing.rules import rules_for

    return revision.memoised(("rules", organisation.pk), lambda: rules_for(organisation))


def triage_service(organisation):
    return revision.memoised(("triage", organisation.pk), organisation.triage_service)


def topic(topic_id):
    """(topic with its organisation, its candidate services), or (None, [])."""

    def build():
        from kb.models import Topic

        found = Topic.objects.select_related("organisation").filter(pk=topic_id).first()
        return (found, found.candidate_services() if found is not None else [])

    return revision.memoised(("topic", topic_id), build)


def sla_policies(organisation_id):
    from routing.models import SlaPolicy

    return revision.memoised(
        ("sla", organisation_id), lambda: list(SlaPolicy.objects.filter(organisation_id=organisation_id))
    )


def business_hours(organisation_id):
    """The organisation's BusinessHours row, or None."""
    from routing.models import BusinessHours

    return revision.memoised(
        ("hours", organisation_id), lambda: BusinessHours.objects.filter(organisation_id=organisation_id).first()
    )


def assignment_mode(service_id):
    """The service's assignment mode, or None (a shared queue)."""
    from routing.models import ServiceRouting

    return revision.memoised(
        ("mode", service_id),
        lambda: ServiceRouting.objects.filter(service_id=service_id).values_list("mode", flat=True).first(),
    )
