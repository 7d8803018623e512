"""Reserved slot: filled by the work on this feature (kept in a fixed chain so parallel work cannot fork the graph)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('ls_aperturedb', '0003_video'),
    ]

    operations = []
