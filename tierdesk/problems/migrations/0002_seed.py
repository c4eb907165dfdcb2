"""Seed the problem number counter (PRB0001001 is the first problem)."""

from django.db import migrations


def seed(apps, schema_editor):
    Sequence = apps.get_model("problems", "ProblemNumberSequence")
    Sequence.objects.get_or_create(name="problem", defaults={"last_value": 1000})


class Migration(migrations.Migration):
    dependencies = [("problems", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
