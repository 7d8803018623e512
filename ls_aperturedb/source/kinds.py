"""What becomes a task: one module per media kind behind one small interface the sync uses.

A kind (``images``: ``source/images.py``, ``frames``: ``source/frames.py``, ``videos``: ``source/videos.py``)
gives the sync

- ``query``: the listing of matching objects (``listing(batch_id, batch_size)``, ``ids(offset, limit)``,
  ``lookup(uids)``, ``uid_matches(uid)``; see ``query.ImageQuery``),
- ``model_version``: the predictions' model version,
- ``records(pool, uids)``: the objects ``uids`` with what hangs off them (regions, exported annotations),
  each with ``uid`` and ``annotations``,
- ``prepare(pool, records, report, extras)``: per record ``(record, task data, its JSON, (prediction
  result JSON, score) or None)``, touching no Label Studio database (it runs in the read-ahead thread).

The sync itself (paging, tombstones, deletions, bulk writes, progress) is the same for every kind.
"""
from ls_aperturedb.labeling_config import media_target

KINDS = ("images", "videos", "frames")


def kind_name(storage):
    return getattr(storage, "media_kind", "") or "images"


def query_for(storage):
    """The listing query of the storage's kind (the wizard's preview needs no labeling config)."""
    kind = kind_name(storage)
    if kind == "videos":
        from ls_aperturedb.source.videos import VideoQuery

        return VideoQuery.for_storage(storage)
    if kind == "frames":
        from ls_aperturedb.source.frames import frame_query

        return frame_query(storage)
    from ls_aperturedb.source.query import ImageQuery

    return ImageQuery.for_storage(storage)


def for_storage(storage, interface):
    """The storage's kind, bound to its project's labeling config (``interface``: its ``LabelInterface``).
    Raises ``LabelingConfigProblem`` (a ``MediaKindProblem`` names a kind the config cannot show)."""
    kind = kind_name(storage)
    target = media_target(storage.project.label_config, kind, storage.data_key)
    if kind == "videos":
        from ls_aperturedb.source.videos import VideoKind

        return VideoKind(storage, target, interface)
    if kind == "frames":
        from ls_aperturedb.source.frames import FrameKind

        return FrameKind(storage, target, interface)
    from ls_aperturedb.source.images import ImageKind

    return ImageKind(storage, target, interface)
