"""Human-readable ticket references, unique per organisation and year."""

from django.db.models import F

from contacts.models import TicketCounter


def next_reference(organisation, year):
    """Take the next number of the organisation's year, e.g. CD99-2026-000123.

    The counter row is locked until the caller's transaction ends, so
    concurrent creations get distinct numbers, and a rolled-back creation gives
    its number back.
    """
    TicketCounter.objects.get_or_create(organisation=organisation, year=year)
    TicketCounter.objects.filter(organisation=organisation, year=year).update(value=F("value") + 1)
    value = TicketCounter.objects.filter(organisation=organisation, year=year).values_list("value", flat=True).get()
    return f"{organisation.reference_prefix}-{year}-{value:06d}"
