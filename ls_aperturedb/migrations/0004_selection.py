"""Selection of the images a source storage imports: similar to examples (descriptor k-NN) or a stable sample."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ls_aperturedb', '0003_video'),
    ]

    operations = [
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='distance_field',
            field=models.CharField(default='distance', help_text='Task data field that receives the distance to the nearest example', max_length=256, verbose_name='distance field'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='sample_count',
            field=models.PositiveIntegerField(blank=True, help_text='Import this many of the matching images', null=True, verbose_name='sample count'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='sample_fraction',
            field=models.FloatField(blank=True, help_text='Import this fraction (0-1] of the matching images', null=True, verbose_name='sample fraction'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='sample_seed',
            field=models.IntegerField(default=0, help_text='Another seed draws another (reproducible) sample', verbose_name='sample seed'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='selection',
            field=models.CharField(choices=[('all', 'all matching images'), ('similar', 'similar to examples'), ('sample', 'a sample')], default='all', help_text='all: every matching image; similar: the k nearest to example images (descriptor k-NN); sample: a stable random fraction or count', max_length=16, verbose_name='selection'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='similar_images',
            field=models.JSONField(blank=True, default=list, help_text='ApertureDB _uniqueid of example images', verbose_name='example images'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='similar_k',
            field=models.PositiveIntegerField(default=10, help_text='Nearest new images per example', verbose_name='k'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='similar_set',
            field=models.CharField(blank=True, default='', help_text='ApertureDB descriptor set searched for similar images', max_length=256, verbose_name='descriptor set'),
        ),
        migrations.AddField(
            model_name='aperturedbimportstorage',
            name='similar_tasks',
            field=models.JSONField(blank=True, default=list, help_text='Ids of tasks of this project whose images are examples', verbose_name='example tasks'),
        ),
    ]
