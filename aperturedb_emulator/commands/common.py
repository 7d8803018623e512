"""Shared machinery for Find/Update/Delete/Add over objects and connections."""
import json
from typing import NamedTuple, Optional

from ..constraints import MISSING, compile_constraints, dump_value, kind, parse_properties
from ..errors import (NotUniqueError, OBJECT_EXISTS, ParameterError, QueryError, STATUS_EXISTS,
                      STATUS_OK)
from ..store import Conn, RefSet
from . import batch

_KIND_ORDER = {"b": 0, "n": 1, "s": 2, "d": 3}


# ------------------------------------------------------------------ sorting
def parse_sort(sort):
    """[(key, descending)] of a sort already checked by base.check_sort."""
    if sort is None:
        return []
    return [(s, False) if isinstance(s, str) else (s["key"], s.get("order") == "descending")
            for s in (sort if isinstance(sort, list) else [sort])]


def sort_items(items, keys):
    """Stable multi-key sort; items lacking a key go last. `_uniqueid` sorts by creation order."""
    for key, desc in reversed(keys):
        if key == "_uniqueid":
            items.sort(key=_item_id, reverse=desc)
            continue
        present, missing = [], []
        for it in items:
            (missing if it.props.get(key, MISSING) is MISSING else present).append(it)
        present.sort(key=lambda it: _sort_key(it.props[key]), reverse=desc)
        items[:] = present + missing
    return items


def _sort_key(v):
    return (_KIND_ORDER.get(kind(v), 9), v)


def _item_id(it):
    return it.cid if isinstance(it, Conn) else it.oid


# ------------------------------------------------------------------ traversal
def _neighbors(store, source, conn_class, direction):
    """Objects connected to the referenced object `source`; `direction` is seen from `source`."""
    for c in _edges(store, source, conn_class, direction):
        yield c.src if c.dst is source else c.dst


def _connected_spec(txn, name, spec):
    """{oid: (object, the referenced object it was reached from)} for an is_connected_to
    checked by base.check_connected."""
    if "any" in spec or "all" in spec:
        sets = []
        for k in ("any", "all"):
            subs = spec.get(k)
            if subs is None:
                continue
            results = [_connected_spec(txn, name, s) for s in subs]
            merged = {}
            if k == "any":
                for r in results:
                    for oid, pair in r.items():
                        merged.setdefault(oid, pair)
            else:
                keys = set(results[0])
                for r in results[1:]:
                    keys &= set(r)
                merged = {oid: results[0][oid] for oid in keys}
            sets.append(merged)
        out = sets[0]
        for s in sets[1:]:
            out = {oid: out[oid] for oid in out if oid in s}
        return out
    direction = spec.get("direction", "any")
    conn_class = spec.get("connection_class")
    rs = txn.ref(spec["ref"], name, "is_connected_to.ref")
    if rs.kind != "object":
        raise QueryError(f"{name}: is_connected_to.ref must refer to objects, not connections")
    ccomp = compile_constraints(spec.get("constraints"))
    out = {}
    store = txn.store
    for source in rs.items:
        if ccomp is None:
            for obj in _neighbors(store, source, conn_class, direction):
                out.setdefault(obj.oid, (obj, source))
        else:
            for c in _edges(store, source, conn_class, direction):
                if ccomp.match(c.get):
                    obj = c.src if c.dst is source else c.dst
                    out.setdefault(obj.oid, (obj, source))
    return out


def _edges(store, source, conn_class, direction):
    """Connections of the referenced object `source`: "in" = into it (found -> source), "out" = out
    of it (source -> found), "any" = both.

    Seen from the referenced object, as the real server does: Cookbook notebooks/query_languages/
    SPARQL.ipynb (recorded output) finds images with {"ref": <Ingredient>, "direction": "in",
    "connection_class": "HasIngredient"} where its schema gives HasIngredient as _Image ->
    Ingredient; the SDK's aperturedb/SPARQL.py add_is_connected_to builds "out" when the ref is
    the source and "in" when it is the destination; aperture-data/workflows apps/sql-server/fdw/
    fdw/table.py finds destination objects with {"ref": <source>, "direction": "out"}.
    """
    if direction in ("in", "any"):
        for c in store.in_edges.get(source.oid, {}).values():
            if conn_class is None or c.cls == conn_class:
                yield c
    if direction in ("out", "any"):
        for c in store.out_edges.get(source.oid, {}).values():
            if conn_class is None or c.cls == conn_class:
                yield c


# ------------------------------------------------------------------ matching
def match_objects(txn, name, p, cls, *, image_ref_class=None, label_key=None, use_cache=True):
    """Objects of class `cls` (None = any) matching the command's filters.

    Returns (items, sources) where sources maps oid -> the referenced object
    each item was reached from (for group_by_source), or None.
    """
    store = txn.store
    comp = compile_constraints(p.get("constraints"))
    sort = parse_sort(p.get("sort"))
    with_label = p.get(label_key) if label_key else None
    pairs = None
    if image_ref_class is not None and "image_ref" in p:
        rs = txn.ref(p["image_ref"], name, "image_ref")
        pairs = {}
        for img in rs.items:
            for c in store.in_edges.get(img.oid, {}).values():
                if c.cls == image_ref_class or (isinstance(image_ref_class, tuple)
                                                and c.cls in image_ref_class):
                    pairs.setdefault(c.src.oid, (c.src, img))
    if "is_connected_to" in p:
        got = _connected_spec(txn, name, p["is_connected_to"])
        pairs = got if pairs is None else {k: v for k, v in pairs.items() if k in got}
    if pairs is not None:
        items = [o for o, _ in pairs.values()
                 if (cls is None or o.cls == cls) and _ok(o, comp, with_label)]
        sources = {o.oid: s for o, s in pairs.values()}
        items.sort(key=_item_id)
        return sort_items(items, sort), sources
    cache_key = None
    if use_cache:
        cache_key = ("o", cls, json.dumps(p.get("constraints"), sort_keys=True),
                     json.dumps(p.get("sort"), sort_keys=True), with_label)
        hit = store.cache.get(cache_key)
        if hit is not None:
            return hit, None
    items = _scan(store, "o", cls, comp, with_label)
    items = sort_items(items, sort)
    if cache_key is not None:
        if len(store.cache) > 32:
            store.cache.clear()
        store.cache[cache_key] = items
    return items, None


def _ok(o, comp, with_label):
    if with_label is not None and o.props.get("_label") != with_label:
        return False
    return comp is None or comp.match(o.get)


def _scan(store, kind_, cls, comp, with_label=None):
    if cls is None:
        pool = store.objects if kind_ == "o" else store.conns
    else:
        pool = (store.by_class if kind_ == "o" else store.conns_by_class).get(cls, {})
    if comp is not None and comp.hints and cls is not None:
        key, values = comp.hints[0]
        pool = store.lookup_eq(kind_, cls, key, values)
        pool = dict(sorted(pool.items()))
    if comp is None and with_label is None:
        return list(pool.values())
    return [o for o in pool.values() if _ok(o, comp, with_label)]


def page(name, p, items):
    """Apply unique / offset / limit. unique with several matches fails the transaction with
    status 3 (docs.aperturedata.io query_language/Overview/Responses: 3 NotUnique; the
    single-object reply as in aperturedb-python test/test_Server.py::test_Error_code_3)."""
    if p.get("unique") and len(items) > 1:
        raise NotUniqueError(name, len(items))
    offset = p.get("offset", 0)
    limit = p.get("limit")
    if offset < 0 or (limit is not None and limit < 0):
        raise ParameterError(f"{name}: limit and offset must not be negative")
    if limit is None:
        return items[offset:] if offset else items
    return items[offset:offset + limit]


class Selection(NamedTuple):
    """What a Find command answers with: the page (or batch) of items, the referenced object
    each was reached from (group_by_source), the number of matches, and the reply's "batch"."""
    items: list
    sources: Optional[dict]
    total: int
    batch: Optional[dict] = None


def select_objects(txn, name, p, cls, **match_kw):
    """Match, page (unique/offset/limit, then batch) and bind the command's _ref."""
    if "batch" in p:
        kept = batch.cached(txn, p)
        if kept is None:
            matched, sources = match_objects(txn, name, p, cls, **match_kw)
            kept = (page(name, p, matched), len(matched))
            batch.keep(txn, p, *kept)
        items, info = batch.cut(txn, p, kept[0])
        sel = Selection(items, None, kept[1], info)
    else:
        matched, sources = match_objects(txn, name, p, cls, **match_kw)
        sel = Selection(page(name, p, matched), sources, len(matched))
    bind_objects(txn, p, sel.items, sel.sources)
    return sel


# ------------------------------------------------------------------ responses
def entity_dict(item, results, uniqueids):
    e = {}
    if results.get("all_properties"):
        for k, v in item.props.items():
            e[k] = dump_value(v)
        e["_uniqueid"] = item.uid
    lst = results.get("list")
    if lst:
        props = item.props
        for k in lst:
            if k == "_uniqueid":
                e[k] = item.uid
            else:
                v = props.get(k, MISSING) if k not in ("_src", "_dst") else item.get(k)
                if v is not MISSING:
                    e[k] = dump_value(v)
    if uniqueids:
        e["_uniqueid"] = item.uid
    return e


def find_response(name, p, sel, extras=None, wants_extras=False, blobs=False, key="entities"):
    """Build a Find* reply for a Selection.

    Per docs.aperturedata.io query_language/Overview/Responses: "returned" is the number of
    entities, connections or blobs returned, so it is 0 when only aggregates (count) were
    asked or when the command only binds a _ref; "entities"/"connections" appear only when
    properties were asked for and something matched. "count" is the number of matching
    objects (before limit/offset). Recorded replies: Cookbook notebooks/simple/BulkEmbeddings
    ({"count": 1, "returned": 0, "status": 0}), Connections ({"returned": 0, "status": 0} for an
    empty FindImage with results.list and blobs), Regions (FindImage with _ref: returned 0).
    A batched read also answers "batch" (see batch.py).
    """
    items, sources = sel.items, sel.sources
    results = p.get("results") or {}
    want = bool(results.get("list") or results.get("all_properties") or p.get("uniqueids")
                or wants_extras)
    returned = len(items) if (want or blobs) else 0
    resp = {"status": STATUS_OK, "returned": returned}
    if sel.batch is not None:
        resp["batch"] = sel.batch
    if results.get("count"):
        resp["count"] = sel.total
    if not want or not items:
        return resp
    uniqueids = p.get("uniqueids", False)

    def build(it):
        e = entity_dict(it, results, uniqueids)
        if extras:
            extras(it, e)
        return e

    if p.get("group_by_source"):
        if sources is None:
            raise ParameterError(f"{name}: group_by_source needs is_connected_to or image_ref")
        groups = {}
        for it in items:
            groups.setdefault(sources[it.oid].uid, []).append(build(it))
        resp[key] = groups
    else:
        resp[key] = [build(it) for it in items]
    return resp


def blob_order(items, sources, resp, key="entities"):
    """Blobs follow the entities as listed: grouped by source under group_by_source."""
    if not isinstance(resp.get(key), dict):
        return items
    groups = {}
    for it in items:
        groups.setdefault(sources[it.oid].uid, []).append(it)
    return [it for grp in groups.values() for it in grp]


def find_with_blobs(txn, name, p, sel, blobs_of, extras=None, wants_extras=False):
    """A Find* reply; with ``blobs: true`` (default false) the selected items' bytes follow the
    transaction's earlier blobs in reply order, each entity's ``_blob_index`` naming its own.
    ``blobs_of`` turns the items, in that order, into their bytes."""
    blobs = p.get("blobs", False)
    resp = find_response(name, p, sel, extras, wants_extras=wants_extras, blobs=blobs)
    if blobs and sel.items:
        start = len(txn.out_blobs)
        txn.out_blobs.extend(blobs_of(blob_order(sel.items, sel.sources, resp)))
        add_blob_indexes(resp, start)
    return resp


def stored_blobs(items):
    """The bytes each item was added with (``blobs_of`` for find_with_blobs)."""
    return (o.blob for o in items)


def add_blob_indexes(resp, start, key="entities"):
    """blobs: true -> "blobs_start" and one "_blob_index" per entity (in reply order)."""
    resp["blobs_start"] = start
    entities = resp.get(key)
    groups = entities.values() if isinstance(entities, dict) else [entities or []]
    idx = start
    for group in groups:
        for e in group:
            e["_blob_index"] = idx
            idx += 1


def bind_objects(txn, p, items, sources=None):
    if "_ref" in p:
        txn.refs[p["_ref"]] = RefSet("object", list(items), sources)


# ------------------------------------------------------------------ add / update / delete
def conditional_existing(txn, name, p, cls):
    """For if_not_found: the one existing object of `cls` matching, or None.

    Status 2 means "a conditional add found a unique instance" (docs Responses); several
    matches fail the transaction with status 3 (aperturedb-python test/test_Server.py
    test_Error_code_3 models exactly this for AddImage: {"info": "JSON Command 1: expecting 1
    but got 2", "status": 3} as the whole reply)."""
    if "if_not_found" not in p:
        return None
    comp = compile_constraints(p["if_not_found"])
    found = _scan(txn.store, "o", cls, comp)
    if len(found) > 1:
        raise NotUniqueError(name, len(found))
    return found or None


def exists_response(txn, p, found, info=OBJECT_EXISTS):
    bind_objects(txn, p, found)
    return {"status": STATUS_EXISTS, "info": info}


def apply_connect(txn, name, p, obj):
    """connect {ref, class, direction, properties} of Add commands: "in" makes the referenced
    object the source (ref -> new object), "out" the destination (new object -> ref).

    No recorded output shows it; ApertureData's own code names its connections that way
    (aperture-data/workflows apps/crawl-website/app/crawl_website.py connect {"ref": <CrawlSpec>,
    "class": "crawlSpecHasRun", "direction": "in"} on the new CrawlRun; the same in apps/text-*/
    and aperturedb-python aperturedb/MLCroissant.py "hasRecord"). The default "out" when
    "direction" is omitted is an assumption (docs/emulator-evidence.md)."""
    conn = p.get("connect")
    if conn is None:
        return
    direction = conn.get("direction", "out")
    props = parse_properties(conn.get("properties", {}), "connect.properties")
    rs = txn.ref(conn["ref"], name, "connect.ref")
    if rs.kind != "object":
        raise QueryError(f"{name}: connect.ref must refer to objects")
    for other in rs.items:
        src, dst = (obj, other) if direction == "out" else (other, obj)
        txn.store.add_connection(conn["class"], src, dst, props)


def targets(txn, name, p, cls):
    """Objects an Update/Delete applies to: `ref` or constraints over `cls`."""
    if "ref" in p:
        rs = txn.ref(p["ref"], name, "ref")
        if rs.kind != "object":
            raise QueryError(f"{name}: ref must refer to objects")
        items = [o for o in rs.items if cls is None or o.cls == cls]
        comp = compile_constraints(p.get("constraints"))
        if comp is not None:
            items = [o for o in items if comp.match(o.get)]
        return [o for o in items if o.oid in txn.store.objects]
    return _scan(txn.store, "o", cls, compile_constraints(p.get("constraints")))


def update_objects(txn, name, p, cls):
    """Update* over objects of `cls`: {"status": 0, "count": n}."""
    items = targets(txn, name, p, cls)
    update_props(txn, name, p, items)
    return {"status": STATUS_OK, "count": len(items)}


def delete_objects(txn, name, p, cls):
    """Delete* over objects of `cls` (their connections go with them): {"status": 0, "count": n}."""
    items = targets(txn, name, p, cls)
    for o in items:
        txn.store.delete_object(o)
    return {"status": STATUS_OK, "count": len(items)}


def update_props(txn, name, p, items):
    props = parse_properties(p.get("properties", {}))
    remove = p.get("remove_props", [])
    if not all(isinstance(k, str) for k in remove):
        raise ParameterError(f"{name}: remove_props must be an array of property names")
    store = txn.store
    for it in items:
        for k in remove:
            if k in it.props:
                store.set_prop(it, k, MISSING)
        for k, v in props.items():
            store.set_prop(it, k, v)
