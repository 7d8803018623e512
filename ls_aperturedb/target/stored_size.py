"""Regions of images shown shaped (a source storage's ``max_side``) are exported in the stored image's pixels.

Label Studio keeps regions in percent and sets ``original_width``/``original_height`` from the image it
displayed; with shaping that is the scaled copy. Before the exporter turns percentages into pixels, those
sizes are replaced by the stored image's size (its size properties, one FindImage for the batch), so the
nodes in ApertureDB, and the annotation's ``result``, are in the stored image's coordinates.
"""
from dataclasses import replace

from ls_aperturedb.source.mapping import image_size
from ls_aperturedb.source.query import SIZE_PROPERTIES


def in_stored_pixels(query, jobs):
    """``jobs`` (each with a ``record``: an ``AnnotationRecord`` or ``None``) with the sizes of regions on
    images a shaping source storage shows replaced by the stored size; ``query`` runs one ApertureDB
    query. Images without a size property keep Label Studio's sizes."""
    from ls_aperturedb.models import ApertureDBImportStorageLink

    tasks = {job.record.task_id for job in jobs if job.record is not None and job.record.image_uniqueid}
    links = ApertureDBImportStorageLink.objects.filter(task_id__in=tasks, storage__max_side__isnull=False) \
        .select_related("storage") if tasks else []
    wanted = {link.key: link.storage for link in links}
    if not wanted:
        return jobs
    props = {p for s in wanted.values() for p in (s.width_property, s.height_property) if p} | set(SIZE_PROPERTIES)
    response, _ = query([{"FindImage": {"constraints": {"_uniqueid": ["in", sorted(wanted)]},
                                        "results": {"list": ["_uniqueid", *sorted(props)]}}}])
    sizes = {}
    for entity in response[0]["FindImage"].get("entities") or []:
        size = image_size(entity, wanted[entity["_uniqueid"]])
        if size:
            sizes[entity["_uniqueid"]] = size
    return [replace(job, record=_resized(job.record, sizes.get(job.record.image_uniqueid)))
            if job.record is not None and job.record.image_uniqueid in sizes else job for job in jobs]


def _resized(record, size):
    if size is None or not isinstance(record.result, list):
        return record
    result = [{**item, "original_width": size[0], "original_height": size[1]}
              if isinstance(item, dict) and "original_width" in item else item for item in record.result]
    return replace(record, result=result)
