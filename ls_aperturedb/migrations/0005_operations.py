"""Operations: scheduled sync and sync-event webhooks on both storages, the score/model-version
properties and read-only predictions of the source, cleanup on delete of the target."""

import ls_aperturedb.secrets
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ls_aperturedb', '0004_selection'),
    ]

    operations = [
        migrations.AddField(
            model_name='aperturedbexportstorage',
            name='cleanup_on_delete',
            field=models.BooleanField(default=False, help_text='Deleting this storage or its project removes what it wrote to ApertureDB (see cleanup)', verbose_name='clean up on delete'),
        ),
        migrations.AddField(
            model_name='aperturedbexportstorage',
            name='scheduled_at',
            field=models.DateTimeField(blank=True, help_text='When the schedule last started (or skipped) a sync', null=True),
        ),
        migrations.AddField(
            model_name='aperturedbexportstorage',
            name='sync_interval',
            field=models.PositiveIntegerField(blank=True, help_text='Celery beat starts a sync this often; empty: no schedule. Skipped while a sync runs', null=True, verbose_name='sync every (seconds)'),
        ),
        migrations.AddField(
            model_name='aperturedbexportstorage',
            name='webhook_secret',
            field=ls_aperturedb.secrets.EncryptedTextField(blank=True, default='', help_text='Key of the HMAC-SHA256 signature of sync events; write-only', verbose_name='webhook secret'),
        ),
        migrations.AddField(
            model_name='aperturedbexportstorage',
            name='webhook_url',
            field=models.URLField(blank=True, default='', help_text='Receives a signed POST when a sync finishes', max_length=2048, verbose_name='sync event webhook URL'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='model_version_property',
            field=models.CharField(blank=True, default='', help_text='Box/polygon property naming the model; empty: wf_od_model, else the model version above', max_length=256, verbose_name='model version property'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='read_only_predictions',
            field=models.BooleanField(default=False, help_text='Imported regions cannot be edited, only copied', verbose_name='read-only predictions'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='scheduled_at',
            field=models.DateTimeField(blank=True, help_text='When the schedule last started (or skipped) a sync', null=True),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='score_property',
            field=models.CharField(blank=True, default='', help_text='Box/polygon property holding the prediction score; empty: score, confidence, wf_od_confidence', max_length=256, verbose_name='score property'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='sync_interval',
            field=models.PositiveIntegerField(blank=True, help_text='Celery beat starts a sync this often; empty: no schedule. Skipped while a sync runs', null=True, verbose_name='sync every (seconds)'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='webhook_secret',
            field=ls_aperturedb.secrets.EncryptedTextField(blank=True, default='', help_text='Key of the HMAC-SHA256 signature of sync events; write-only', verbose_name='webhook secret'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='webhook_url',
            field=models.URLField(blank=True, default='', help_text='Receives a signed POST when a sync finishes', max_length=2048, verbose_name='sync event webhook URL'),
        ),
    ]
