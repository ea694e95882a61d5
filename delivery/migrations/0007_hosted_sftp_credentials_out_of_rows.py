"""Hosted SFTP destinations held a copy of the platform's password or key; drop it.

The hosted server's credentials are read from the settings when connecting
(delivery/channels/sftp/target.py), never from a destination row.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    Destination = apps.get_model("delivery", "Destination")
    for destination in Destination.objects.filter(sftp_hosted=True).iterator():
        if destination.sftp_password or destination.sftp_private_key:
            destination.sftp_password = ""
            destination.sftp_private_key = ""
            destination.save(update_fields=["sftp_password", "sftp_private_key"])


class Migration(migrations.Migration):
    dependencies = [("delivery", "0006_monthlysummary_to_statements")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
