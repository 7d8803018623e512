"""Media shaping per source storage: the largest side and the format ApertureDB serves images in."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ls_aperturedb', '0005_operations'),
    ]

    operations = [
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='image_format',
            field=models.CharField(blank=True, choices=[('', 'as stored'), ('jpg', 'JPEG'), ('png', 'PNG')], default='', help_text='Format ApertureDB encodes images in when shown; empty: as stored', max_length=8, verbose_name='image format'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='max_side',
            field=models.PositiveIntegerField(blank=True, help_text='Images larger than this on their longest side are scaled down by ApertureDB when shown', null=True, verbose_name='largest side (pixels)'),
        ),
    ]
