from django.db import migrations, models


def location_into_headers(apps, schema_editor):
    IdempotencyRecord = apps.get_model("api", "IdempotencyRecord")
    for record in IdempotencyRecord.objects.exclude(location="").iterator():
        record.headers = {"Location": record.location}
        record.save(update_fields=["headers"])


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="idempotencyrecord",
            name="headers",
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(location_into_headers, migrations.RunPython.noop),
        migrations.RemoveField(model_name="idempotencyrecord", name="location"),
    ]
