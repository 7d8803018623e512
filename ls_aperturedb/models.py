"""ApertureDB source and target storages, their links, and the export outbox.

Behaviour lives elsewhere: ``importer`` (sync), ``media`` (streaming), ``exporter`` (write-back).
These models hold state and delegate, the way Label Studio's own providers look.
"""
from django.db import models
from django.utils.translation import gettext_lazy as _
from io_storages.base_models import (
    ExportStorage,
    ExportStorageLink,
    ImportStorage,
    ImportStorageLink,
    ProjectStorageMixin,
)

from ls_aperturedb.client.connection import ConnectionConfig, ConnectionProblem, check
from ls_aperturedb.source.mapping import URL_SCHEME
from ls_aperturedb.secrets import EncryptedTextField

# Fields that are accepted on write and never returned by the API.
SECRET_FIELDS = ("password", "token", "aperturedb_key")
# Write-only too, but not a connection secret (kept when the server changes).
WEBHOOK_SECRET_FIELDS = ("webhook_secret",)


class ApertureDBStorageMixin(models.Model):
    """Connection settings shared by the source and the target storage."""

    hostname = models.CharField(_("hostname"), max_length=512, blank=True, default="",
                                help_text="ApertureDB host name or IP")
    port = models.PositiveIntegerField(_("port"), default=55555, help_text="ApertureDB port")
    username = models.CharField(_("username"), max_length=256, blank=True, default="")
    password = EncryptedTextField(_("password"), blank=True, default="", help_text="Write-only")
    token = EncryptedTextField(_("token"), blank=True, default="", help_text="API token (adbp_...); write-only")
    aperturedb_key = EncryptedTextField(
        _("APERTUREDB_KEY"), blank=True, default="",
        help_text="One APERTUREDB_KEY string instead of host, port, credentials and TLS; write-only")
    use_ssl = models.BooleanField(_("use TLS"), default=True)
    ca_cert = models.TextField(_("CA certificate"), blank=True, default="",
                               help_text="PEM of the CA that signed the server certificate")
    verify_hostname = models.BooleanField(_("verify hostname"), default=True)
    # Operations (ls_aperturedb/ops/): scheduled sync and sync events.
    sync_interval = models.PositiveIntegerField(
        _("sync every (seconds)"), null=True, blank=True,
        help_text="Celery beat starts a sync this often; empty: no schedule. Skipped while a sync runs")
    scheduled_at = models.DateTimeField(null=True, blank=True,
                                        help_text="When the schedule last started (or skipped) a sync")
    webhook_url = models.URLField(_("sync event webhook URL"), max_length=2048, blank=True, default="",
                                  help_text="Receives a signed POST when a sync finishes")
    webhook_secret = EncryptedTextField(_("webhook secret"), blank=True, default="",
                                        help_text="Key of the HMAC-SHA256 signature of sync events; write-only")

    def connection_config(self):
        return ConnectionConfig.from_storage(self)

    def check_connection(self):
        """Raise ``ConnectionProblem`` (field + reason) unless ApertureDB answers GetStatus."""
        from ls_aperturedb.client.ssrf import check_host_allowed

        config = self.connection_config()
        check_host_allowed(config.host, config.port)
        return check(config)

    def validate_connection(self, client=None):
        """Label Studio's hook (create, validate, sync APIs): a problem becomes HTTP 400 on its field."""
        from rest_framework.exceptions import ValidationError

        try:
            self.check_connection()
        except ConnectionProblem as problem:
            raise ValidationError({problem.field: [problem.message]}) from None

    def has_permission(self, user):
        """Label Studio's check plus membership of the project's organization (see ``access``)."""
        from ls_aperturedb.access import in_organization

        user.project = self.project  # Label Studio's activity log reads it
        return in_organization(user, self.project) and self.project.has_permission(user)

    def get_pool(self):
        from ls_aperturedb.client.pool import get_pool

        return get_pool(self.connection_config())

    class Meta:
        abstract = True


class ApertureDBImportStorageBase(ApertureDBStorageMixin, ImportStorage):
    url_scheme = URL_SCHEME
    presign = False

    constraints = models.JSONField(_("constraints"), default=dict, blank=True,
                                   help_text="FindImage constraints selecting the images to import")
    limit = models.PositiveIntegerField(_("limit"), null=True, blank=True,
                                        help_text="Import at most this many images")
    batch_size = models.PositiveIntegerField(_("batch size"), default=1000)
    include_regions = models.BooleanField(_("boxes and polygons as predictions"), default=True)
    region_constraints = models.JSONField(_("region constraints"), default=dict, blank=True,
                                          help_text="Constraints on the boxes/polygons to import")
    model_version = models.CharField(_("model version"), max_length=256, default="aperturedb")
    properties = models.JSONField(_("properties"), default=list, blank=True,
                                  help_text="Image properties copied into task data")
    width_property = models.CharField(_("width property"), max_length=256, blank=True, default="")
    height_property = models.CharField(_("height property"), max_length=256, blank=True, default="")
    data_key = models.CharField(_("data key"), max_length=256, blank=True, default="",
                                help_text="Image tag (name) that receives the image; default the first one")
    media_kind = models.CharField(
        _("media kind"), max_length=16, default="images",
        choices=[("images", _("images")), ("videos", _("videos")), ("frames", _("frames as images"))],
        help_text="What becomes a task: images (FindImage), videos (FindVideo) or key frames shown as images "
                  "(FindFrame); constraints apply to those objects")
    clip_label_property = models.CharField(
        _("clip label property"), max_length=256, blank=True, default="label",
        help_text="Videos: the clip property whose value becomes a TimelineLabels range's label")
    track_property = models.CharField(
        _("track property"), max_length=256, blank=True, default="track_id",
        help_text="Videos: boxes on frames sharing this property's value form one VideoRectangle track")
    import_annotations = models.BooleanField(
        _("import annotations"), default=True,
        help_text="Bring back annotations this plugin exported earlier for this project")
    # Selection (source/selection.py): which of the matching images a sync imports.
    selection = models.CharField(
        _("selection"), max_length=16, default="all",
        choices=[("all", "all matching images"), ("similar", "similar to examples"), ("sample", "a sample")],
        help_text="all: every matching image; similar: the k nearest to example images (descriptor k-NN); "
                  "sample: a stable random fraction or count")
    similar_set = models.CharField(_("descriptor set"), max_length=256, blank=True, default="",
                                   help_text="ApertureDB descriptor set searched for similar images")
    similar_k = models.PositiveIntegerField(_("k"), default=10, help_text="Nearest new images per example")
    similar_images = models.JSONField(_("example images"), default=list, blank=True,
                                      help_text="ApertureDB _uniqueid of example images")
    similar_tasks = models.JSONField(_("example tasks"), default=list, blank=True,
                                     help_text="Ids of tasks of this project whose images are examples")
    distance_field = models.CharField(_("distance field"), max_length=256, default="distance",
                                      help_text="Task data field that receives the distance to the nearest example")
    sample_fraction = models.FloatField(_("sample fraction"), null=True, blank=True,
                                        help_text="Import this fraction (0-1] of the matching images")
    sample_count = models.PositiveIntegerField(_("sample count"), null=True, blank=True,
                                               help_text="Import this many of the matching images")
    sample_seed = models.IntegerField(_("sample seed"), default=0,
                                      help_text="Another seed draws another (reproducible) sample")
    sync_deletions = models.BooleanField(
        _("sync deletions"), default=False,
        help_text="Remove unannotated tasks whose image is gone or no longer matches")
    # Media shaping (source/media.py): ApertureDB scales and re-encodes before bytes reach Label Studio.
    max_side = models.PositiveIntegerField(
        _("largest side (pixels)"), null=True, blank=True,
        help_text="Images larger than this on their longest side are scaled down by ApertureDB when shown")
    image_format = models.CharField(
        _("image format"), max_length=8, blank=True, default="", choices=[("", "as stored"), ("jpg", "JPEG"),
                                                                          ("png", "PNG")],
        help_text="Format ApertureDB encodes images in when shown; empty: as stored")
    use_blob_urls = models.BooleanField(_("use_blob_urls"), default=True,
                                        help_text="Images are media, not task JSON (always on)")
    heartbeat = models.DateTimeField(null=True, blank=True,
                                     help_text="Last sign of life of the queued or running sync")
    score_property = models.CharField(
        _("score property"), max_length=256, blank=True, default="",
        help_text="Box/polygon property holding the prediction score; empty: score, confidence, wf_od_confidence")
    model_version_property = models.CharField(
        _("model version property"), max_length=256, blank=True, default="",
        help_text="Box/polygon property naming the model; empty: wf_od_model, else the model version above")
    read_only_predictions = models.BooleanField(
        _("read-only predictions"), default=False, help_text="Imported regions cannot be edited, only copied")

    def health_check(self):
        """Replaces Label Studio's rq-based check: a sync is dead only when its heartbeat is stale."""
        from ls_aperturedb.source.importer import fail_if_dead

        fail_if_dead(self)

    def can_resolve_url(self, url):
        from ls_aperturedb.source.media import storage_id_of

        return storage_id_of(url) == self.id

    def get_bytes_stream(self, uri, range_header=None):
        from ls_aperturedb.source.media import get_bytes_stream

        return get_bytes_stream(self, uri, range_header=range_header)

    def iter_objects(self):
        from ls_aperturedb.source.importer import iter_image_ids

        return iter_image_ids(self)

    def iter_keys(self):
        return self.iter_objects()

    def get_unified_metadata(self, obj):
        return {"key": obj, "last_modified": None, "size": None}

    def scan_and_create_links(self):
        from ls_aperturedb.source.importer import sync_now

        return sync_now(self)

    def sync(self):
        from ls_aperturedb.tasks import start_import_sync

        return start_import_sync(self)

    class Meta:
        abstract = True


class ApertureDBImportStorage(ProjectStorageMixin, ApertureDBImportStorageBase):
    has_permission = ApertureDBStorageMixin.has_permission  # ProjectStorageMixin's comes first in the MRO

    class Meta:
        abstract = False


class ApertureDBImportStorageLink(ImportStorageLink):
    """One task per ApertureDB image (``key`` is the image ``_uniqueid``).

    A link whose task a user deleted stays, with ``task`` empty: it is the tombstone that stops later
    syncs from re-creating the task. The plugin removes links together with the tasks it deletes itself.
    """

    # Named like Label Studio's own links so task.storage and the Data Manager find it.
    task = models.OneToOneField("tasks.Task", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="io_storages_aperturedbimportstoragelink")
    storage = models.ForeignKey(ApertureDBImportStorage, on_delete=models.CASCADE, related_name="links")
    seen_by_sync = models.CharField(max_length=64, blank=True, default="",
                                    help_text="Last sync that found the image (for sync_deletions)")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["storage", "key"], name="adb_import_link_unique_key")]


class ApertureDBSyncRange(models.Model):
    """Pages ``first_page`` .. ``end_page`` (exclusive) of one sync spread over workers (source/ranges.py).

    ``owner`` is the participant holding the range; every page it writes first updates this row where
    it is still the owner, so a participant that took the range over (``heartbeat`` stale) can never
    interleave with it. ``next_page`` and ``counts`` move with each page's commit. The run's first range
    also records in ``finisher`` which participant finishes the run.
    """

    storage = models.ForeignKey(ApertureDBImportStorage, on_delete=models.CASCADE, related_name="ranges")
    run = models.CharField(max_length=64)
    first_page = models.IntegerField()
    end_page = models.IntegerField()
    next_page = models.IntegerField()
    total = models.IntegerField(help_text="Objects in the listing the run pages through")
    batch_size = models.IntegerField()
    owner = models.CharField(max_length=128, blank=True, default="")
    heartbeat = models.DateTimeField(null=True, blank=True)
    done = models.BooleanField(default=False)
    takeovers = models.IntegerField(default=0)
    counts = models.JSONField(default=dict)
    finisher = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["storage", "run", "first_page"], name="adb_sync_range_unique")]


class ApertureDBExportStorage(ApertureDBStorageMixin, ExportStorage):
    cleanup_on_delete = models.BooleanField(
        _("clean up on delete"), default=False,
        help_text="Deleting this storage or its project removes what it wrote to ApertureDB (see cleanup)")

    def save_annotation(self, annotation):
        from ls_aperturedb.target.exporter import export_annotation, queue_annotation

        queue_annotation(annotation)
        return export_annotation(self, annotation.id)

    def save_all_annotations(self):
        from ls_aperturedb.target.exporter import export_pending

        return export_pending(self)

    def sync(self, save_only_new_annotations=False):
        from ls_aperturedb.tasks import start_export_sync

        return start_export_sync(self)

    def health_check(self):
        """Replaces Label Studio's rq-based check: exports run on Celery."""
        from ls_aperturedb.target.exporter import fail_if_stale

        fail_if_stale(self)


class ApertureDBExportStorageLink(ExportStorageLink):
    """Per-annotation export state; also the durable outbox the worker drains."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        EXPORTED = "exported", _("exported")
        FAILED = "failed", _("failed")
        DELETING = "deleting", _("deleting")

    # Kept when the annotation is deleted so its nodes can still be removed from ApertureDB.
    annotation = models.ForeignKey("tasks.Annotation", on_delete=models.SET_NULL, null=True,
                                   related_name="ls_aperturedb_exportlinks")
    annotation_key = models.BigIntegerField(help_text="Annotation id (survives the annotation)")
    annotation_uid = models.CharField(max_length=64, blank=True, default="",
                                      help_text="The annotation's identity in ApertureDB (its unique_id); "
                                                "survives the annotation so a delete finds its nodes")
    storage = models.ForeignKey(ApertureDBExportStorage, on_delete=models.CASCADE, related_name="links")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    wanted_version = models.DateTimeField(null=True, blank=True, help_text="Annotation updated_at to export")
    exported_version = models.DateTimeField(null=True, blank=True, help_text="Annotation updated_at exported")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # A worker's lease on the row while it talks to ApertureDB (no database lock is held meanwhile).
    claim = models.CharField(max_length=32, blank=True, default="", db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["storage", "annotation_key"], name="adb_export_link_unique"),
        ]
