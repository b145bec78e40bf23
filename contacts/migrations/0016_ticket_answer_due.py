"""The index of the "answer due soon" view (tickets not yet answered, in
the order of their due time), built CONCURRENTLY on PostgreSQL like 0014."""

from django.db import migrations, models

INDEX = models.Index(
    condition=models.Q(("first_response_at__isnull", True), ("status__in", ["new", "open"])),
    fields=["organisation", "due_at", "id"],
    name="ticket_answer_due",
)


def add(apps, schema_editor):
    model = apps.get_model("contacts", "Ticket")
    schema_editor.add_index(
        model, INDEX, **({"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {})
    )


def remove(apps, schema_editor):
    model = apps.get_model("contacts", "Ticket")
    schema_editor.remove_index(
        model, INDEX, **({"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {})
    )


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [("contacts", "0015_indicator_aggregates")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="ticket", index=INDEX)],
            database_operations=[migrations.RunPython(add, remove, elidable=False)],
        )
    ]
