"""BoundingBox and Polygon: regions of an image, connected to it by
`_BoundingBoxToImage` / `_PolygonToImage` (src region -> dst image), the class names and
direction GetSchema reports in docs.aperturedata.io query_language/Reference/db_commands/GetSchema.
The label is the system property `_label` (docs Overview/System-defined Properties)."""
import math
import struct

from ..constraints import MISSING, parse_properties
from ..errors import ParameterError, QueryError, STATUS_OK
from ..store import BBOX, BBOX_TO_IMAGE, IMAGE, POLYGON, POLYGON_TO_IMAGE
from .images import check_image_params, image_bytes
from .frames import frame_region_bytes
from .videos import BBOX_TO_FRAME, FRAME
from .base import ADD_PARAMS, Command, DELETE_PARAMS, FIND_PARAMS, UPDATE_PARAMS
from .common import (add_blob_indexes, apply_connect, blob_order, bind_objects, conditional_existing,
                     delete_objects, exists_response, find_response, select_objects, targets,
                     update_props)

REGION_FIND = {**FIND_PARAMS, "image_ref": "int", "with_label": "str", "labels": "bool",
               "blobs": "bool", "as_format": "str", "operations": "list"}


def _rectangle(name, r):
    if not isinstance(r, dict):
        raise ParameterError(f"{name}: rectangle must be an object with x, y, width, height")
    out = []
    for k in ("x", "y", "width", "height"):
        v = r.get(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ParameterError(f"{name}: rectangle.{k} must be a number")
        out.append(v)
    for k in r:
        if k not in ("x", "y", "width", "height"):
            raise ParameterError(f"{name}: unknown key in rectangle: '{k}'")
    if out[2] <= 0 or out[3] <= 0:
        raise ParameterError(f"{name}: rectangle width and height must be positive")
    return out


def _polygons(name, polys):
    if not isinstance(polys, list) or not polys:
        raise ParameterError(f"{name}: polygons must be a non-empty array of point arrays")
    for ring in polys:
        if not isinstance(ring, list) or len(ring) < 3:
            raise ParameterError(f"{name}: each polygon needs at least 3 [x, y] points")
        for pt in ring:
            if (not isinstance(pt, list) or len(pt) != 2 or
                    any(isinstance(c, bool) or not isinstance(c, (int, float)) for c in pt)):
                raise ParameterError(f"{name}: polygon points must be [x, y] number pairs")
    # The server stores vertices as 32-bit floats: 483.84 comes back as 483.8399963378906
    # (Cookbook notebooks/simple/Regions.ipynb, FindPolygon "_vertices").
    return [[[_f32(x), _f32(y)] for x, y in ring] for ring in polys]


def _f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]


def _image_of(txn, name, p, classes=(IMAGE,)):
    rs = txn.ref(p["image_ref"], name, "image_ref")
    images = [o for o in rs.items if o.cls in classes]
    if len(images) != 1 or len(rs.items) != 1:
        raise QueryError(f"{name}: image_ref {p['image_ref']} must refer to exactly one "
                         f"{' or '.join(c.strip('_').lower() for c in classes)} "
                         f"(it refers to {len(rs.items)} objects)")
    return images[0]


def _add_region(txn, name, p, cls, conn_cls, setup):
    # A box may also sit on a video frame: "image: reference to an existing image/frame"
    # (aperturedata.io/docs/commands/AddBoundingBox.html); its connection class is an assumption.
    image = _image_of(txn, name, p, (IMAGE, FRAME) if cls == BBOX else (IMAGE,))
    if image.cls == FRAME:
        conn_cls = BBOX_TO_FRAME
    props = parse_properties(p.get("properties", {}))
    if "label" in p:
        props["_label"] = p["label"]
    existing = conditional_existing(txn, name, p, cls)
    if existing:
        return exists_response(txn, p, existing)
    o = txn.store.add_object(cls, props)
    setup(o)
    txn.store.add_connection(conn_cls, o, image, {})
    apply_connect(txn, name, p, o)
    bind_objects(txn, p, [o])
    return {"status": STATUS_OK}


def add_bbox(txn, name, p):
    rect = _rectangle(name, p["rectangle"])
    return _add_region(txn, name, p, BBOX, BBOX_TO_IMAGE, lambda o: setattr(o, "rect", rect))


def add_polygon(txn, name, p):
    polys = _polygons(name, p["polygons"])
    return _add_region(txn, name, p, POLYGON, POLYGON_TO_IMAGE, lambda o: setattr(o, "polygons", polys))


def _label_extra(p, e, o):
    if p.get("labels"):
        v = o.props.get("_label", MISSING)
        if v is not MISSING:
            e["_label"] = v


def _bounds(polys):
    """Integer enclosing rectangle: the Cookbook's recorded polygon (x 416.4..1844.64,
    y 1854.72..3104.64) has "_bounds" {"x": 416, "y": 1854, "width": 1429, "height": 1251}."""
    xs = [pt[0] for ring in polys for pt in ring]
    ys = [pt[1] for ring in polys for pt in ring]
    x0, y0 = math.floor(min(xs)), math.floor(min(ys))
    return {"x": x0, "y": y0, "width": math.ceil(max(xs)) - x0, "height": math.ceil(max(ys)) - y0}


def _hulls(polys):
    """One convex hull per ring, as the server answers "_hulls" for hulls: true (Cookbook
    notebooks/simple/Regions.ipynb, recorded): the hull's vertices in positive (counter-clockwise
    for x right, y up) order starting from the vertex with the smallest y. For the recorded
    7-point ring that is exactly the recorded answer; the start for ties in y and collinear
    points (left out) are assumptions."""
    return [_hull(ring) for ring in polys]


def _hull(ring):
    pts = sorted({(x, y) for x, y in ring})
    if len(pts) < 3:
        return [list(p) for p in pts]

    def half(points):
        chain = []
        for pt in points:
            while len(chain) >= 2 and _cross(chain[-2], chain[-1], pt) <= 0:
                chain.pop()
            chain.append(pt)
        return chain[:-1]

    hull = half(pts) + half(reversed(pts))     # monotone chain: counter-clockwise
    first = min(range(len(hull)), key=lambda i: (hull[i][1], hull[i][0]))
    return [list(p) for p in hull[first:] + hull[:first]]


def _cross(o, a, b):
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _area(polys):
    total = 0.0
    for ring in polys:
        s = 0.0
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
            s += x1 * y2 - x2 * y1
        total += abs(s) / 2.0
    return int(total)   # recorded "_area": 1359696 (an integer) for the Cookbook polygon


def _bbox_area(o):
    x, y, w, h = o.rect
    area = w * h
    return int(area) if float(area).is_integer() else area


def _all_props_extras(p, e, area):
    """results.all_properties on regions also returns "_area" (Cookbook Regions.ipynb:
    FindBoundingBox/FindPolygon all_properties entities carry _area, _label, _uniqueid)."""
    if (p.get("results") or {}).get("all_properties") or p.get("areas"):
        e["_area"] = area


def find_bbox(txn, name, p):
    sel = select_objects(txn, name, p, BBOX, image_ref_class=(BBOX_TO_IMAGE, BBOX_TO_FRAME),
                         label_key="with_label")

    def extras(o, e):
        if p.get("coordinates"):
            x, y, w, h = o.rect
            e["_coordinates"] = {"x": x, "y": y, "width": w, "height": h}
        _label_extra(p, e, o)
        _all_props_extras(p, e, _bbox_area(o))

    blobs = p.get("blobs", False)
    resp = find_response(name, p, sel, extras,
                         wants_extras=bool(p.get("coordinates") or p.get("labels") or p.get("areas")),
                         blobs=blobs)
    if blobs and sel.items:
        _region_blobs(txn, name, p, sel, resp, BBOX_TO_IMAGE, lambda o: o.rect)
    return resp


def _region_blobs(txn, name, p, sel, resp, conn_cls, rect_of):
    """blobs: true on FindBoundingBox / FindPolygon returns the region's pixels (Cookbook
    Regions.ipynb: both replies carry blobs_start and _blob_index). The emulator crops the
    image to the box, or to the polygon's _bounds."""
    store = txn.store
    start = len(txn.out_blobs)
    for o in blob_order(sel.items, sel.sources, resp):
        image = next(c.dst for c in store.out_edges.get(o.oid, {}).values()
                     if c.cls in (conn_cls, BBOX_TO_FRAME))
        x, y, w, h = rect_of(o)
        crop = {"type": "crop", "x": x, "y": y, "width": w, "height": h}
        q = {**p, "operations": [crop] + (p.get("operations") or [])}
        if image.cls == FRAME:
            txn.out_blobs.append(frame_region_bytes(txn, name, image, q))
        else:
            txn.out_blobs.append(image_bytes(name, image, q))
    add_blob_indexes(resp, start)


def find_polygon(txn, name, p):
    sel = select_objects(txn, name, p, POLYGON, image_ref_class=POLYGON_TO_IMAGE, label_key="with_label")

    def extras(o, e):
        if p.get("vertices"):
            e["_vertices"] = o.polygons
        if p.get("bounds"):
            e["_bounds"] = _bounds(o.polygons)
        if p.get("hulls"):
            e["_hulls"] = _hulls(o.polygons)
        _label_extra(p, e, o)
        _all_props_extras(p, e, _area(o.polygons))

    blobs = p.get("blobs", False)
    wants = any(p.get(k) for k in ("vertices", "bounds", "hulls", "areas", "labels"))
    resp = find_response(name, p, sel, extras, wants_extras=wants, blobs=blobs)
    if blobs and sel.items:
        def rect_of(o):
            b = _bounds(o.polygons)
            return b["x"], b["y"], b["width"], b["height"]
        _region_blobs(txn, name, p, sel, resp, POLYGON_TO_IMAGE, rect_of)
    return resp


def _update_region(cls):
    def run(txn, name, p):
        items = targets(txn, name, p, cls)
        update_props(txn, name, p, items)
        store = txn.store
        for o in items:
            if "label" in p:
                store.set_prop(o, "_label", p["label"])
            if "rectangle" in p:
                store.set_attr(o, "rect", _rectangle(name, p["rectangle"]))
            if "polygons" in p:
                store.set_attr(o, "polygons", _polygons(name, p["polygons"]))
        return {"status": STATUS_OK, "count": len(items)}
    return run


def _delete_region(cls):
    return lambda txn, name, p: delete_objects(txn, name, p, cls)


COMMANDS = {
    "AddBoundingBox": Command(add_bbox, {**ADD_PARAMS, "image_ref": "int", "rectangle": "dict",
                                         "label": "str"}, required=("image_ref", "rectangle")),
    "FindBoundingBox": Command(find_bbox, {**REGION_FIND, "coordinates": "bool", "areas": "bool"},
                               check=check_image_params),
    "UpdateBoundingBox": Command(_update_region(BBOX), {**UPDATE_PARAMS, "rectangle": "dict",
                                                        "label": "str"}),
    "DeleteBoundingBox": Command(_delete_region(BBOX), dict(DELETE_PARAMS)),
    "AddPolygon": Command(add_polygon, {**ADD_PARAMS, "image_ref": "int", "polygons": "list",
                                        "label": "str"}, required=("image_ref", "polygons")),
    "FindPolygon": Command(find_polygon, {**REGION_FIND, "vertices": "bool", "bounds": "bool",
                                          "hulls": "bool", "areas": "bool"}, check=check_image_params),
    "UpdatePolygon": Command(_update_region(POLYGON), {**UPDATE_PARAMS, "polygons": "list",
                                                       "label": "str"}),
    "DeletePolygon": Command(_delete_region(POLYGON), dict(DELETE_PARAMS)),
}
