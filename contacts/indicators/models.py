"""What the indicators keep to answer fast: one fact row per ticket (what
the indicators need to know about it, computed from the ticket and its
events by contacts.indicators.facts), and daily aggregates (the facts
summed by organisation, local day of reception, service, topic and
channel). Both are derived data: ``manage.py indicators_rebuild`` rebuilds
them from scratch, contacts.indicators.aggregates keeps them up to date.
See docs/indicators.md."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from contacts.channels import Channel

HOURS = range(24)
WRITTEN_CHANNELS = [Channel.EMAIL, Channel.FORM, Channel.LETTER]
SCORES = range(1, 6)


def hour_field(hour):
    return f"h{hour:02d}"


def score_field(score):
    return f"score_{score}"


class TicketFact(models.Model):
    """What the aggregates need to know about one ticket."""

    ticket = models.OneToOneField(
        "contacts.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="+", verbose_name=_("ticket")
    )
    organisation = models.ForeignKey("kb.Organisation", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("local day of reception"))
    hour = models.PositiveSmallIntegerField(_("local hour of reception"))
    service = models.ForeignKey("kb.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    topic = models.ForeignKey("kb.Topic", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    channel = models.CharField(_("channel of origin"), max_length=10, choices=Channel.choices)
    transfers = models.PositiveSmallIntegerField(_("transfers"), default=0)
    corrected = models.BooleanField(_("topic or service corrected"), default=False)
    resolved_once = models.BooleanField(_("resolved at least once"), default=False)
    reopened = models.BooleanField(_("reopened"), default=False)
    first_response_hours = models.FloatField(_("first answer (opening hours)"), null=True, blank=True)
    resolution_hours = models.FloatField(_("resolution (opening hours)"), null=True, blank=True)
    for _score in SCORES:
        locals()[score_field(_score)] = models.PositiveSmallIntegerField(default=0)
    del _score
    # What the commitments need, worked out when the fact is written (the
    # opening hours and working days of the organisation then): only the
    # comparisons with "now" of the tickets still unanswered are left to
    # the dashboard (``waiting``: status new or open, no answer yet).
    priority = models.CharField(_("priority"), max_length=10, default="normal")
    waiting = models.BooleanField(_("unanswered, waiting for us"), default=False)
    due_at = models.DateTimeField(_("answer due at"), null=True, blank=True)
    due_day = models.DateField(_("local day announced for the answer"), null=True, blank=True)
    sla_met = models.BooleanField(_("answered by the due time"), null=True, blank=True)
    announced_met = models.BooleanField(_("answered by the announced day"), null=True, blank=True)
    acknowledged = models.BooleanField(_("acknowledged at once"), default=False)
    within_working_days = models.BooleanField(_("answered within 5 working days"), null=True, blank=True)
    first_response_minutes = models.FloatField(_("first answer (calendar minutes)"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket fact")
        verbose_name_plural = _("ticket facts")
        constraints = [
            models.CheckConstraint(condition=Q(hour__lte=23), name="ticketfact_hour_of_day"),
        ]
        indexes = [
            # The times of a period, read from this index alone (PostgreSQL).
            models.Index(
                fields=["organisation", "day"],
                include=["channel", "service", "topic", "first_response_hours", "resolution_hours"],
                name="ticketfact_times",
            ),
            # The requests still unanswered, compared with "now" by the dashboard.
            models.Index(
                fields=["organisation", "day"],
                include=["channel", "service", "topic", "priority", "due_at", "due_day"],
                condition=Q(waiting=True),
                name="ticketfact_waiting",
            ),
            models.Index(
                fields=["organisation", "day"],
                include=["channel", "service", "topic", "first_response_minutes"],
                condition=Q(priority="urgent"),
                name="ticketfact_urgent",
            ),
            # The tickets whose events the transfer and correction tables read.
            models.Index(
                fields=["organisation", "day"],
                include=["channel", "service", "topic"],
                condition=Q(corrected=True),
                name="ticketfact_corrected",
            ),
        ]

    def __str__(self):
        return f"{self.ticket_id} ({self.day})"

    def key(self):
        """The daily aggregate this ticket counts in."""
        return (self.organisation_id, self.day, self.service_id, self.topic_id, self.channel, self.priority)

    def contribution(self):
        """What this ticket adds to its daily aggregate (field: amount)."""
        amounts = {
            "tickets": 1,
            hour_field(self.hour): 1,
            "transferred_once": int(self.transfers >= 1),
            "transferred_twice": int(self.transfers >= 2),
            "corrected": int(self.corrected),
            "resolved_once": int(self.resolved_once),
            "reopened": int(self.reopened),
            "rated": int(any(getattr(self, score_field(s)) for s in SCORES)),
            "sla_on_time": int(self.sla_met is True),
            "sla_late": int(self.sla_met is False),
            "announced_on_time": int(self.announced_met is True),
            "announced_late": int(self.announced_met is False),
        }
        if self.channel in WRITTEN_CHANNELS:
            amounts["written"] = 1
            amounts["acknowledged"] = int(self.acknowledged)
            amounts["written_within"] = int(self.within_working_days is True)
            amounts["written_late"] = int(self.within_working_days is False)
        for score in SCORES:
            amounts[score_field(score)] = getattr(self, score_field(score))
        return amounts


KEY_FIELDS = ["organisation_id", "day", "service_id", "topic_id", "channel", "priority"]


class DailyAggregate(models.Model):
    """The facts of the tickets received on one local day, for one service,
    topic, channel and priority, summed."""

    organisation = models.ForeignKey("kb.Organisation", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("local day of reception"))
    service = models.ForeignKey("kb.Service", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    topic = models.ForeignKey("kb.Topic", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    channel = models.CharField(_("channel of origin"), max_length=10, choices=Channel.choices)
    priority = models.CharField(_("priority"), max_length=10, default="normal")
    tickets = models.PositiveIntegerField(_("requests received"), default=0)
    for _hour in HOURS:
        locals()[hour_field(_hour)] = models.PositiveIntegerField(default=0)
    del _hour
    transferred_once = models.PositiveIntegerField(_("transferred at least once"), default=0)
    transferred_twice = models.PositiveIntegerField(_("transferred twice or more"), default=0)
    corrected = models.PositiveIntegerField(_("corrected"), default=0)
    resolved_once = models.PositiveIntegerField(_("resolved at least once"), default=0)
    reopened = models.PositiveIntegerField(_("reopened"), default=0)
    rated = models.PositiveIntegerField(_("rated"), default=0)
    for _score in SCORES:
        locals()[score_field(_score)] = models.PositiveIntegerField(default=0)
    del _score
    sla_on_time = models.PositiveIntegerField(_("answered by the due time"), default=0)
    sla_late = models.PositiveIntegerField(_("answered after the due time"), default=0)
    announced_on_time = models.PositiveIntegerField(_("answered by the announced day"), default=0)
    announced_late = models.PositiveIntegerField(_("answered after the announced day"), default=0)
    written = models.PositiveIntegerField(_("written requests"), default=0)
    acknowledged = models.PositiveIntegerField(_("written, acknowledged at once"), default=0)
    written_within = models.PositiveIntegerField(_("written, answered within 5 working days"), default=0)
    written_late = models.PositiveIntegerField(_("written, answered after 5 working days"), default=0)

    class Meta:
        verbose_name = _("daily aggregate")
        verbose_name_plural = _("daily aggregates")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "day", "service", "topic", "channel", "priority"],
                nulls_distinct=False,
                name="dailyaggregate_one_row_per_key",
            ),
            models.CheckConstraint(
                condition=Q(transferred_twice__lte=F("transferred_once"), transferred_once__lte=F("tickets")),
                name="dailyaggregate_transfers_within_tickets",
            ),
            models.CheckConstraint(
                condition=Q(
                    reopened__lte=F("resolved_once"),
                    resolved_once__lte=F("tickets"),
                    corrected__lte=F("tickets"),
                    rated__lte=F("tickets"),
                    written__lte=F("tickets"),
                    acknowledged__lte=F("written"),
                ),
                name="dailyaggregate_counts_within_tickets",
            ),
        ]

    def __str__(self):
        return f"{self.day} {self.service_id}/{self.topic_id}/{self.channel}: {self.tickets}"


SUMMED = [field.name for field in DailyAggregate._meta.fields if isinstance(field, models.PositiveIntegerField)]


class AggregateBuild(models.Model):
    """An organisation whose facts and aggregates were rebuilt from scratch
    at least once (before that, the dashboard computes everything live)."""

    organisation = models.OneToOneField("kb.Organisation", on_delete=models.CASCADE, related_name="+")
    rebuilt_at = models.DateTimeField(_("rebuilt at"))
    tickets = models.PositiveIntegerField(_("tickets"), default=0)

    class Meta:
        verbose_name = _("aggregates build")
        verbose_name_plural = _("aggregates builds")

    def __str__(self):
        return f"{self.organisation_id} ({self.rebuilt_at:%Y-%m-%d %H:%M})"


class RefreshState(models.Model):
    """The single row that serialises the refreshes and rebuilds and holds
    the watermark of the events already taken into account."""

    last_event_id = models.BigIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="refreshstate_single_row")]

    def __str__(self):
        return f"{self.last_event_id}"
