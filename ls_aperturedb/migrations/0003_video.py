"""Video: the source storage's media kind (images, videos, frames) and the clip label / track properties."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ls_aperturedb', '0002_export_link_annotation_uid'),
    ]

    operations = [
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='media_kind',
            field=models.CharField(choices=[('images', 'images'), ('videos', 'videos'), ('frames', 'frames as images')], default='images', help_text='What becomes a task: images (FindImage), videos (FindVideo) or key frames shown as images (FindFrame); constraints apply to those objects', max_length=16, verbose_name='media kind'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='clip_label_property',
            field=models.CharField(blank=True, default='label', help_text="Videos: the clip property whose value becomes a TimelineLabels range's label", max_length=256, verbose_name='clip label property'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='track_property',
            field=models.CharField(blank=True, default='track_id', help_text="Videos: boxes on frames sharing this property's value form one VideoRectangle track", max_length=256, verbose_name='track property'),
        ),
    ]
