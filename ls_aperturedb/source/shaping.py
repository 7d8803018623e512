"""Server-side image shaping: the FindImage that has ApertureDB scale and re-encode an image before its
bytes leave the server (a 40-megapixel TIFF becomes a labelable JPEG; the preview's thumbnails).

ApertureDB's ``operations`` resize takes the target ``width`` and ``height``; the aspect ratio is kept by
computing both from the stored size (docs.aperturedata.io query_language/Reference/shared_command_parameters/
operations; the SDK's own ``aperturedb/Images.py`` ``resolve`` reads resize the same way). ``as_format``
("jpg", "png") re-encodes (docs Reference/image_commands/FindImage). Coordinates never change: Label Studio
stores regions in percent, and ``original_width``/``original_height`` stay the stored image's size (the
importer and the exporter use the stored size, not the shown one).
"""
from ls_aperturedb.source.query import SIZE_PROPERTIES

FORMATS = {"": "as stored", "jpg": "JPEG", "png": "PNG"}


def fitted(size, max_side):
    """``(width, height)`` scaled so the longest side is ``max_side`` (aspect kept), or ``None`` when the
    image already fits (images are never scaled up)."""
    if not max_side or size is None:
        return None
    width, height = size
    longest = max(width, height)
    if longest <= max_side:
        return None
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def blob_query(uid, size=None, max_side=None, image_format=""):
    """One FindImage returning the image ``uid``'s bytes, scaled to fit ``max_side`` and encoded as
    ``image_format`` when asked."""
    command = {"constraints": {"_uniqueid": ["==", uid]}, "blobs": True, "results": {"list": ["_uniqueid"]}}
    target = fitted(size, max_side)
    if target is not None:
        command["operations"] = [{"type": "resize", "width": target[0], "height": target[1]}]
    if image_format:
        command["as_format"] = image_format
    return {"FindImage": command}


def size_query(uid, width_property="", height_property=""):
    wanted = [p for p in (width_property, height_property, *SIZE_PROPERTIES) if p]
    return {"FindImage": {"constraints": {"_uniqueid": ["==", uid]},
                          "results": {"list": ["_uniqueid", *dict.fromkeys(wanted)]}}}


def first_blob(response, blobs, index=0):
    entities = response[index]["FindImage"].get("entities") or []
    if not entities or not blobs:
        return None
    return blobs[entities[0].get("_blob_index", 0)]
