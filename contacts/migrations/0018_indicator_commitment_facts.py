"""The commitments (SLA, Services Publics+, Marianne, urgent, unanswered)
in the indicators' facts and daily aggregates, the aggregates keyed by
priority too. Both tables are derived data: they are emptied (and every
organisation's build forgotten, so that its dashboard is computed live)
until ``manage.py indicators_rebuild`` fills them again."""

from django.db import migrations, models


def forget(apps, schema_editor):
    for name in ("AggregateBuild", "DailyAggregate", "TicketFact"):
        apps.get_model("contacts", name).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0017_attachment_antivirus"),
        ("kb", "0003_revision_sequence"),
    ]

    operations = [
        migrations.RunPython(forget, migrations.RunPython.noop, elidable=False),
        migrations.RemoveConstraint(
            model_name="dailyaggregate",
            name="dailyaggregate_one_row_per_key",
        ),
        migrations.RemoveConstraint(
            model_name="dailyaggregate",
            name="dailyaggregate_counts_within_tickets",
        ),
        migrations.RemoveIndex(
            model_name="ticketfact",
            name="contacts_ti_organis_7b198b_idx",
        ),
        migrations.AddField(
            model_name="dailyaggregate",
            name="acknowledged",
            field=models.PositiveIntegerField(default=0, verbose_name="written, acknowledged at once"),
        ),
        migrations.AddField(
            model_name="dailyaggregate",
            name="announced_late",
            field=models.PositiveIntegerField(default=0, verbose_name="answered after the announced day"),
        ),
        migrations.AddField(
            model_name="dailyaggregate",
            name="announced_on_time",
            field=models.PositiveIntegerField(default=0, verbose_name="answered by the announced day"),
        ),
        migrations.AddField(
            model_name="dailyaggregate",
            name="priority",
            field=models.CharField(default="normal", max_length=10, verbose_name="priority"),
        ),
        migrations.AddField(
            model_name="dailyaggregate",
            name="sla_late",
            field=models.PositiveIntegerField(default=0, verbose_name="answered after the due time"),
        ),
        migrations.AddField(
            model_name="dailyaggregate",
            name="sla_on_time",
            field=models.PositiveIntegerField(default=0, verbose_name="answered by the due time"),
        ),
        migrations.AddField(
            model_name="dailyaggregate",
            name="written",
            field=models.PositiveIntegerField(default=0, verbose_name="written requests"),
        ),
        migrations.AddField(
            model_name="dailyaggregate",
            name="written_late",
            field=models.PositiveIntegerField(default=0, verbose_name="written, answered after 5 working days"),
        ),
        migrations.AddField(
            model_name="dailyaggregate",
            name="written_within",
            field=models.PositiveIntegerField(default=0, verbose_name="written, answered within 5 working days"),
        ),
        migrations.AddField(
            model_name="ticketfact",
            name="acknowledged",
            field=models.BooleanField(default=False, verbose_name="acknowledged at once"),
        ),
        migrations.AddField(
            model_name="ticketfact",
            name="announced_met",
            field=models.BooleanField(blank=True, null=True, verbose_name="answered by the announced day"),
        ),
        migrations.AddField(
            model_name="ticketfact",
            name="due_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="answer due at"),
        ),
        migrations.AddField(
            model_name="ticketfact",
            name="due_day",
            field=models.DateField(blank=True, null=True, verbose_name="local day announced for the answer"),
        ),
        migrations.AddField(
            model_name="ticketfact",
            name="first_response_minutes",
            field=models.FloatField(blank=True, null=True, verbose_name="first answer (calendar minutes)"),
        ),
        migrations.AddField(
            model_name="ticketfact",
            name="priority",
            field=models.CharField(default="normal", max_length=10, verbose_name="priority"),
        ),
        migrations.AddField(
            model_name="ticketfact",
            name="sla_met",
            field=models.BooleanField(blank=True, null=True, verbose_name="answered by the due time"),
        ),
        migrations.AddField(
            model_name="ticketfact",
            name="waiting",
            field=models.BooleanField(default=False, verbose_name="unanswered, waiting for us"),
        ),
        migrations.AddField(
            model_name="ticketfact",
            name="within_working_days",
            field=models.BooleanField(blank=True, null=True, verbose_name="answered within 5 working days"),
        ),
        migrations.AddIndex(
            model_name="ticketfact",
            index=models.Index(
                fields=["organisation", "day"],
                include=("channel", "service", "topic", "first_response_hours", "resolution_hours"),
                name="ticketfact_times",
            ),
        ),
        migrations.AddIndex(
            model_name="ticketfact",
            index=models.Index(
                condition=models.Q(("waiting", True)),
                fields=["organisation", "day"],
                include=("channel", "service", "topic", "priority", "due_at", "due_day"),
                name="ticketfact_waiting",
            ),
        ),
        migrations.AddIndex(
            model_name="ticketfact",
            index=models.Index(
                condition=models.Q(("priority", "urgent")),
                fields=["organisation", "day"],
                include=("channel", "service", "topic", "first_response_minutes"),
                name="ticketfact_urgent",
            ),
        ),
        migrations.AddConstraint(
            model_name="dailyaggregate",
            constraint=models.UniqueConstraint(
                fields=("organisation", "day", "service", "topic", "channel", "priority"),
                name="dailyaggregate_one_row_per_key",
                nulls_distinct=False,
            ),
        ),
        migrations.AddConstraint(
            model_name="dailyaggregate",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("acknowledged__lte", models.F("written")),
                    ("corrected__lte", models.F("tickets")),
                    ("rated__lte", models.F("tickets")),
                    ("reopened__lte", models.F("resolved_once")),
                    ("resolved_once__lte", models.F("tickets")),
                    ("written__lte", models.F("tickets")),
                ),
                name="dailyaggregate_counts_within_tickets",
            ),
        ),
    ]
