"""AddVideo, FindVideo, UpdateVideo, DeleteVideo; AddClip, FindClip, UpdateClip, DeleteClip.

A video's blob is stored whole and its system properties come from the bytes (video_codec.py).
A clip stores only its position in the video (Cookbook notebooks/simple/ClipsFrames.ipynb: "a Clip
in ApertureDB stores only the position of the clip within the video as metadata properties").
Sources for every parameter and reply: docs/emulator-evidence.md, "Video, clips, frames".
"""
from ..constraints import parse_properties
from ..errors import ParameterError, QueryError, STATUS_OK
from ..store import BBOX
from .. import video_codec
from . import batch
from .base import ADD_PARAMS, Command, DELETE_PARAMS, FIND_PARAMS, UPDATE_PARAMS
from .common import (Selection, apply_connect, bind_objects, conditional_existing, delete_objects,
                     exists_response, find_response, find_with_blobs, match_objects, page, stored_blobs,
                     targets, update_objects)
from .positions import (IN_RANGE_KEYS, RANGE_KEYS, RANGE_NAMES, TIME, check_range, one_of,
                        stored_bounds, within)

VIDEO, CLIP, FRAME = "_Video", "_Clip", "_Frame"
# Connection classes: assumptions (no source names them); the plugin never names them.
CLIP_TO_VIDEO, FRAME_TO_VIDEO, BBOX_TO_FRAME = "_ClipToVideo", "_FrameToVideo", "_BoundingBoxToFrame"


# ------------------------------------------------------------------ shared by videos and frames
def not_implemented(*keys, allow=None):
    """A check: documented parameters the emulator does not implement fail by name
    (`allow` maps a key to a value that is accepted, e.g. blobs: false)."""
    allow = allow or {}

    def check(name, p):
        for k in keys:
            if k in p and not (k in allow and p[k] == allow[k]):
                raise ParameterError(f"{name}: parameter '{k}' is not implemented by the emulator")
    return check


def one_video(txn, name, p):
    """The single video `video_ref` refers to ("Exactly 1 video must be referenced, otherwise an
    error is generated": docs Reference/video_commands/clip_commands/AddClip)."""
    rs = txn.ref(p["video_ref"], name, "video_ref")
    videos = [o for o in rs.items if o.cls == VIDEO]
    if len(videos) != 1 or len(rs.items) != 1:
        raise QueryError(f"{name}: video_ref {p['video_ref']} must refer to exactly one video "
                         f"(it refers to {len(rs.items)} objects)")
    return videos[0]


def with_video_ref(p, conn_cls):
    """video_ref as the traversal it is: objects connected to the referenced videos."""
    if "video_ref" not in p:
        return p
    spec = {"ref": p["video_ref"], "connection_class": conn_cls, "direction": "in"}
    q = {k: v for k, v in p.items() if k != "video_ref"}
    q["is_connected_to"] = {"all": [p["is_connected_to"], spec]} if "is_connected_to" in p else spec
    return q


def select_media(txn, name, p, cls, keep=None):
    """common.select_objects with a filter (`keep`) applied before paging: the in_..._range
    parameters select by position."""
    def matched():
        items, sources = match_objects(txn, name, p, cls)
        return ([o for o in items if keep(o)] if keep else items), sources

    if "batch" in p:
        kept = batch.cached(txn, p)
        if kept is None:
            items, _ = matched()
            kept = (page(name, p, items), len(items))
            batch.keep(txn, p, *kept)
        items, info = batch.cut(txn, p, kept[0])
        sel = Selection(items, None, kept[1], info)
    else:
        items, sources = matched()
        sel = Selection(page(name, p, items), sources, len(items))
    bind_objects(txn, p, sel.items, sel.sources)
    return sel


def parent_video(store, o, conn_cls):
    return next((c.dst for c in store.out_edges.get(o.oid, {}).values() if c.cls == conn_cls), None)


def delete_with_boxes(store, o):
    for c in list(store.in_edges.get(o.oid, {}).values()):
        if c.cls == BBOX_TO_FRAME and c.src.cls == BBOX and c.src.oid in store.objects:
            store.delete_object(c.src)
    store.delete_object(o)


# ------------------------------------------------------------------ videos
def add_video(txn, name, p):
    blob = bytes(txn.next_blob(name))
    props = parse_properties(p.get("properties", {}))
    existing = conditional_existing(txn, name, p, VIDEO)
    if existing:
        return exists_response(txn, p, existing)
    pr = video_codec.probe(name, blob)
    props.update(pr.system_properties())
    o = txn.store.add_object(VIDEO, props)
    o.blob, o.fmt, o.width, o.height = blob, pr.container, pr.width, pr.height
    apply_connect(txn, name, p, o)
    bind_objects(txn, p, [o])
    return {"status": STATUS_OK}


def find_video(txn, name, p):
    """blobs defaults to false (docs.aperturedata.io/commands/FindVideo.html); the stored video
    comes back whole, as added."""
    return find_with_blobs(txn, name, p, select_media(txn, name, p, VIDEO), stored_blobs)


def delete_video(txn, name, p):
    """DeleteVideo also deletes the video's clips and frames (and the frames' boxes): an
    assumption, as DeleteImage does with regions."""
    items = targets(txn, name, p, VIDEO)
    store = txn.store
    for v in items:
        for c in list(store.in_edges.get(v.oid, {}).values()):
            if c.cls in (CLIP_TO_VIDEO, FRAME_TO_VIDEO) and c.src.oid in store.objects:
                delete_with_boxes(store, c.src)
        store.delete_object(v)
    return {"status": STATUS_OK, "count": len(items)}


# ------------------------------------------------------------------ clips
def add_clip(txn, name, p):
    video = one_video(txn, name, p)
    key = one_of(name, p, list(RANGE_KEYS), required=True)
    kind = RANGE_KEYS[key]
    start, stop = check_range(name, key, kind, p[key], need_both=True)
    props = parse_properties(p.get("properties", {}))
    if "label" in p:
        props["_label"] = p["label"]
    existing = conditional_existing(txn, name, p, CLIP)
    if existing:
        return exists_response(txn, p, existing)
    props["_range_type"] = kind
    props["_range_start"], props["_range_stop"] = stored_bounds(kind, start, stop)
    o = txn.store.add_object(CLIP, props)
    o.media = {"key": "_" + key, "range": dict(p[key])}
    txn.store.add_connection(CLIP_TO_VIDEO, o, video, {})
    apply_connect(txn, name, p, o)
    bind_objects(txn, p, [o])
    return {"status": STATUS_OK}


def _clip_filter(name, p):
    """in_..._range: clips fully within it, compared with clips of the same range type."""
    key = one_of(name, p, list(IN_RANGE_KEYS), required=False)
    if key is None:
        return None
    kind = IN_RANGE_KEYS[key]
    start, stop = check_range(name, key, kind, p[key], need_both=False)
    if kind == TIME:
        start = None if start is None else start * 1_000_000
        stop = None if stop is None else stop * 1_000_000

    def keep(o):
        return (o.props.get("_range_type") == kind and within(o.props["_range_start"], start, stop)
                and within(o.props["_range_stop"], start, stop))
    return keep


def _range_extra(p):
    """`_frame_number_range` / `_time_offset_range` / `_time_fraction_range` as given, with
    all_properties (ClipsFrames.ipynb cell 11) or when listed."""
    results = p.get("results") or {}
    listed = set(results.get("list") or [])

    def extras(o, e):
        key = (o.media or {}).get("key") or "_" + RANGE_NAMES[o.props["_range_type"]]
        if results.get("all_properties") or key in listed:
            e[key] = (o.media or {}).get("range")
    return extras


def find_clip(txn, name, p):
    q = with_video_ref(p, CLIP_TO_VIDEO)
    keep = _clip_filter(name, p)
    label = p.get("with_label")
    if label is not None:
        inner = keep
        keep = (lambda o: o.props.get("_label") == label and (inner is None or inner(o)))
    sel = select_media(txn, name, q, CLIP, keep)
    return find_response(name, q, sel, _range_extra(p))


MEDIA_FIND = {**FIND_PARAMS, "blobs": "bool", "video_ref": "int", "with_label": "str"}
COMMANDS = {
    "AddVideo": Command(add_video, {**ADD_PARAMS, **{k: "any" for k in (
        "codec", "container", "operations", "url", "index_frames")}}, blobs=lambda p: 1,
        check=not_implemented("codec", "container", "operations", "url", "index_frames")),
    "FindVideo": Command(find_video, {**FIND_PARAMS, "blobs": "bool", **{k: "any" for k in (
        "as_codec", "as_container", "operations", "urls", "with_url")}},
        check=not_implemented("as_codec", "as_container", "operations", "urls", "with_url")),
    "UpdateVideo": Command(lambda txn, name, p: update_objects(txn, name, p, VIDEO), dict(UPDATE_PARAMS)),
    "DeleteVideo": Command(delete_video, dict(DELETE_PARAMS)),
    "AddClip": Command(add_clip, {**ADD_PARAMS, "video_ref": "int", "label": "str",
                                  **{k: "dict" for k in RANGE_KEYS}}, required=("video_ref",)),
    "FindClip": Command(find_clip, {**MEDIA_FIND, **{k: "dict" for k in IN_RANGE_KEYS},
                                    **{k: "any" for k in ("as_container", "as_codec", "operations",
                                                          "fast_cut")}},
                        check=not_implemented("blobs", "as_container", "as_codec", "operations",
                                              "fast_cut", allow={"blobs": False})),
    "UpdateClip": Command(lambda txn, name, p: update_objects(txn, name, p, CLIP), dict(UPDATE_PARAMS)),
    "DeleteClip": Command(lambda txn, name, p: delete_objects(txn, name, p, CLIP), dict(DELETE_PARAMS)),
}
