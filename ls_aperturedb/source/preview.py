"""The wizard's "Import settings & preview": what a sync would import, before anything is saved.

Two ApertureDB transactions: the first page of matching images (the sync's order) with the properties
copied into task data and their boxes and polygons, plus the total count of matches (``results.count``,
docs.aperturedata.io query_language/Reference/shared_command_parameters/results); then one FindImage per
image of that page whose bytes ApertureDB itself scales to a thumbnail and encodes as JPEG
(``operations`` resize + ``as_format``, see ``shaping``), so full images never cross the wire for it.
"""
import base64

from ls_aperturedb.source import shaping
from ls_aperturedb.source.mapping import image_size
from ls_aperturedb.source.query import ImageQuery, parse_details
from ls_aperturedb.source.selecting import selected_preview

PAGE = 12  # images shown with thumbnails
THUMBNAIL_SIDE = 96  # pixels, longest side


def count_command(constraints):
    command = {"results": {"count": True}}
    if constraints:
        command["constraints"] = constraints
    return {"FindImage": command}


def preview(storage, limit=PAGE):
    """``{"count", "files": [{key, properties, boxes, polygons, width, height, thumbnail}, ...]}``;
    ``count`` is every match (a storage ``limit`` caps what a sync imports, not this)."""
    if (getattr(storage, "media_kind", "") or "images") != "images":
        return _listed(storage, limit)
    query = ImageQuery.for_storage(storage)
    pool = storage.get_pool()
    page = max(0, min(limit, PAGE))
    selected = selected_preview(storage, pool)  # (ids, how many) a selection would import (selecting.py)
    details = query.details(uids=selected[0][:page]) if selected else query.details(offset=0, limit=page)
    response, _ = pool.query([*details, count_command(query.constraints)])
    total = response[-1]["FindImage"].get("count", 0)
    records = parse_details(response[:-1]) if page else []
    copied = [p for p in storage.properties or [] if p != "_uniqueid"]
    sizes = {r.uid: image_size(r.properties, storage) for r in records}
    thumbnails = _thumbnails(pool, [(uid, size) for uid, size in sizes.items() if size])
    files = [{
        "key": r.uid, "last_modified": None, "size": None,
        "properties": {p: r.properties[p] for p in copied if p in r.properties},
        "boxes": len(r.boxes), "polygons": len(r.polygons),
        "width": sizes[r.uid][0] if sizes[r.uid] else None, "height": sizes[r.uid][1] if sizes[r.uid] else None,
        "thumbnail": thumbnails.get(r.uid),
    } for r in records]
    imported = selected[1] if selected else min(total, storage.limit) if storage.limit else total
    return {"count": total, "import_count": imported, "files": files}


def _listed(storage, limit):
    """Videos and key frames: the first keys the storage lists (``iter_objects``), without thumbnails."""
    from itertools import islice

    files = [storage.get_unified_metadata(key) for key in islice(storage.iter_objects(), limit + 1)]
    more = len(files) > limit
    files = files[:limit]
    return {"count": None, "import_count": None, "more": more, "files": files}


def _thumbnails(pool, images):
    """``{uid: data URL}`` of JPEG thumbnails ApertureDB rendered, in one transaction."""
    if not images:
        return {}
    commands = [shaping.blob_query(uid, size, THUMBNAIL_SIDE, "jpg") for uid, size in images]
    response, blobs = pool.query(commands)
    out = {}
    for i, (uid, _) in enumerate(images):
        data = shaping.first_blob(response, blobs, i)
        if data is not None:
            out[uid] = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    return out


def schema_properties(storage):
    """Property names from ``GetSchema`` (docs.aperturedata.io query_language/Reference/db_commands/GetSchema:
    ``entities.classes.<class>.properties`` maps each name to ``[matched, indexed, type]``): those of
    ``_Image``, and those of ``_BoundingBox`` and ``_Polygon`` together (score and model-version candidates)."""
    response, _ = storage.get_pool().query([{"GetSchema": {}}])
    classes = ((response[0]["GetSchema"].get("entities") or {}).get("classes") or {})

    def names(*cls):
        found = set()
        for name in cls:
            found.update(((classes.get(name) or {}).get("properties") or {}).keys())
        return sorted(p for p in found if not p.startswith("_"))

    return {"image_properties": names("_Image"), "region_properties": names("_BoundingBox", "_Polygon")}
