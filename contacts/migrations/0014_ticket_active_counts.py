"""The covering index of the inbox's counts (contacts/inbox/queries.py
view_counts), built CONCURRENTLY on PostgreSQL: the tickets stay writable
while it is built on a large table. Other databases: the plain index (SQLite
keeps no INCLUDE columns)."""

from django.conf import settings
from django.db import migrations, models

INDEX = models.Index(
    condition=models.Q(("status__in", ["new", "open", "pending"])),
    fields=["organisation", "status"],
    include=("id", "assignee", "service", "priority", "topic", "due_at", "first_response_at"),
    name="ticket_active_counts",
)


def add(apps, schema_editor):
    model = apps.get_model("contacts", "Ticket")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(model, INDEX, concurrently=True)
    else:
        schema_editor.add_index(model, INDEX)


def remove(apps, schema_editor):
    model = apps.get_model("contacts", "Ticket")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(model, INDEX, concurrently=True)
    else:
        schema_editor.remove_index(model, INDEX)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("contacts", "0013_consent_record"),
        ("kb", "0002_organisation_retention_months"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="ticket", index=INDEX)],
            database_operations=[migrations.RunPython(add, remove, elidable=False)],
        )
    ]
