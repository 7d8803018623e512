"""AddDescriptorSet, FindDescriptorSet, DeleteDescriptorSet, AddDescriptor, FindDescriptor,
UpdateDescriptor, DeleteDescriptor: exact k-NN in numpy.

A set is a `_DescriptorSet` object (`_name`; dimensions, metrics and engines kept beside the
properties); a descriptor is a `_Descriptor` object (`_set_name`, `_label`, the float32 vector
as its blob) connected from its set by `_DescriptorSetToDescriptor` (SDK aperturedb/Utils.py
DESCRIPTOR_CLASS, DESCRIPTOR_CONNECTION_CLASS, count_descriptors_in_set). Each set's vectors
also live in one contiguous float32 matrix (vectors.py) so a query is one matrix product.
Sources for every behaviour: docs/emulator-evidence.md, "Descriptors".
"""
import numpy as np

from ..constraints import compile_constraints, parse_properties
from ..errors import ParameterError, QueryError, STATUS_OK
from .base import ADD_PARAMS, Command, DELETE_PARAMS, FIND_PARAMS, UPDATE_PARAMS
from .common import (_connected_spec, apply_connect, bind_objects, conditional_existing, exists_response,
                     find_response, find_with_blobs, page, select_objects, Selection, sort_items,
                     parse_sort, stored_blobs, targets, update_objects)
from .vectors import DESCRIPTOR, SET, SET_TO_DESCRIPTOR, index_for, knn

# docs.aperturedata.io AddDescriptorSet: engines FaissFlat (default), FaissIVFFlat, TileDBDense,
# TileDBSparse, metrics L2 (default), IP; CS, Flat and HNSW are recorded in Cookbook
# notebooks/simple/{VectorSearch,ImageVectorSearch,Embeddings}.ipynb and the FindDescriptorSet
# example reply (`_engines: ["Flat"]`, `_metrics: ["CS", "L2"]`).
METRICS = ("L2", "IP", "CS")
ENGINES = ("FaissFlat", "FaissIVFFlat", "TileDBDense", "TileDBSparse", "Flat", "HNSW")
DEFAULT_METRIC, DEFAULT_ENGINE = "L2", "FaissFlat"


def _names(name, key, value, allowed, default):
    """metric / engine: one name or a list of names (SDK Utils.add_descriptorset sends lists)."""
    if value is None:
        return [default]
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ParameterError(f"{name}: '{key}' must not be empty")
    for v in values:
        if v not in allowed:
            raise ParameterError(f"{name}: unsupported {key} {v!r} (supported: {', '.join(allowed)})")
    return list(dict.fromkeys(values))


def find_set(txn, name, set_name):
    """The live `_DescriptorSet` named `set_name`; an unknown set fails the transaction (docs
    FindDescriptor: "If DescriptorSet with that name does not exist, an error is returned")."""
    found = txn.store.lookup_eq("o", SET, "_name", [set_name])
    if not found:
        raise QueryError(f"{name}: DescriptorSet '{set_name}' does not exist")
    return next(iter(found.values()))


def _with_filter(p, key, value):
    """p with `key == value` AND-ed into its constraints (either constraint spelling)."""
    c = p.get("constraints")
    if c is None or c == {}:
        c = {key: ["==", value]}
    elif isinstance(c, dict):
        c = {"all": [c, {key: ["==", value]}]} if key in c else {**c, key: ["==", value]}
    else:
        c = ["all", [f"${key}", "==", value], c]
    return {**p, "constraints": c}


# ------------------------------------------------------------------ sets
def add_descriptor_set(txn, name, p):
    dims = p["dimensions"]
    if dims < 1:
        raise ParameterError(f"{name}: 'dimensions' must be a positive integer")
    metrics = _names(name, "metric", p.get("metric"), METRICS, DEFAULT_METRIC)
    engines = _names(name, "engine", p.get("engine"), ENGINES, DEFAULT_ENGINE)
    props = parse_properties(p.get("properties", {}))
    existing = conditional_existing(txn, name, p, SET)
    if existing:
        return exists_response(txn, p, existing)
    # "A DescriptorSet is conditionally added if and only if a DescriptorSet with the same
    # name does not exist" (docs AddDescriptorSet).
    same = list(txn.store.lookup_eq("o", SET, "_name", [p["name"]]).values())
    if same:
        return exists_response(txn, p, same)
    o = txn.store.add_object(SET, {**props, "_name": p["name"]})
    o.width, o.rect, o.polygons = dims, metrics, engines   # persisted with the object's extras
    apply_connect(txn, name, p, o)
    bind_objects(txn, p, [o])
    return {"status": STATUS_OK}


def _set_extras(txn, p):
    store = txn.store

    def extras(o, e):
        if p.get("engines"):
            e["_engines"] = list(o.polygons)
        if p.get("metrics"):
            e["_metrics"] = list(o.rect)
        if p.get("dimensions"):
            e["_dimensions"] = o.width
        lst = (p.get("results") or {}).get("list") or ()
        if p.get("counts") or "_count" in lst:
            e["_count"] = len(store.lookup_eq("o", DESCRIPTOR, "_set_name", [o.props["_name"]]))
    return extras


def find_descriptor_set(txn, name, p):
    q = _with_filter(p, "_name", p["with_name"]) if "with_name" in p else p
    sel = select_objects(txn, name, q, SET)
    flags = any(p.get(k) for k in ("engines", "metrics", "dimensions", "counts"))
    return find_response(name, q, sel, _set_extras(txn, p), wants_extras=flags)


def delete_descriptor_set(txn, name, p):
    """Deletes the sets and their descriptors; "count" is the number of sets (Cookbook
    notebooks/simple/VectorSearch.ipynb: five descriptors, {"count": 1})."""
    q = _with_filter(p, "_name", p["with_name"]) if "with_name" in p else p
    sets = targets(txn, name, q, SET)
    store = txn.store
    for s in sets:
        members = store.lookup_eq("o", DESCRIPTOR, "_set_name", [s.props["_name"]])
        for o in sorted(members.values(), key=lambda o: o.oid):
            store.delete_object(o)
        store.delete_object(s)
        store.vectors.pop(s.props["_name"], None)   # rebuilt from the store if rolled back
    return {"status": STATUS_OK, "count": len(sets)}


# ------------------------------------------------------------------ descriptors
def add_descriptor(txn, name, p):
    blob = txn.next_blob(name)
    s = find_set(txn, name, p["set"])
    dims = s.width
    if len(blob) != 4 * dims:
        raise QueryError(f"{name}: the descriptor blob has {len(blob)} bytes but set '{p['set']}' "
                         f"has {dims} dimensions ({4 * dims} bytes of float32)")
    props = parse_properties(p.get("properties", {}))
    existing = conditional_existing(txn, name, p, DESCRIPTOR)
    if existing:
        return exists_response(txn, p, existing)
    # An unlabelled descriptor is stored with the label "None" (aperturedata.io/docs/commands/
    # AddDescriptor.html: "If unspecified, the system will store it as None").
    props.update({"_set_name": p["set"], "_label": p.get("label", "None")})
    store = txn.store
    idx = index_for(store, s)
    o = store.add_object(DESCRIPTOR, props)
    o.blob = bytes(blob)
    store.add_connection(SET_TO_DESCRIPTOR, s, o, {})
    idx.append(o)
    apply_connect(txn, name, p, o)
    bind_objects(txn, p, [o])
    return {"status": STATUS_OK}


def _descriptor_extras(p, dist):
    """_distance / _label / _blob_index as asked. all_properties leaves `_label` out and
    labels: true adds it (Cookbook notebooks/simple/Embeddings.ipynb cells 14 and 18)."""
    lst = (p.get("results") or {}).get("list") or ()

    def extras(o, e):
        if p.get("distances") and dist is not None:
            e["_distance"] = dist[o.oid]
        if p.get("labels"):
            e["_label"] = o.props.get("_label")
        elif "_label" not in lst:
            e.pop("_label", None)
    return extras


def find_descriptor(txn, name, p):
    s = find_set(txn, name, p["set"]) if "set" in p else None
    if s is not None:
        for key, attr in (("metric", "rect"), ("engine", "polygons")):
            if key in p and p[key] not in getattr(s, attr):
                raise QueryError(f"{name}: set '{p['set']}' has no {key} {p[key]!r} "
                                 f"(it has {', '.join(getattr(s, attr))})")
    dist = None
    if "k_neighbors" in p:
        if s is None:
            raise ParameterError(f"{name}: 'k_neighbors' needs 'set' (the search space)")
        sel, dist = _knn_selection(txn, name, p, s)
    else:
        q = _with_filter(p, "_set_name", p["set"]) if s is not None else p
        sel = select_objects(txn, name, q, DESCRIPTOR, label_key="with_label")
    extras = _descriptor_extras(p, dist)
    wants = bool(p.get("labels") or (p.get("distances") and dist is not None))
    return find_with_blobs(txn, name, p, sel, stored_blobs, extras, wants_extras=wants)


def _knn_selection(txn, name, p, s):
    """k nearest of the query vector (the next blob), most similar first; with knn_first
    (default true) the constraints filter the k found, else the k nearest that match
    (docs FindDescriptor, knn_first)."""
    for key in ("batch", "group_by_source"):
        if p.get(key) not in (None, False):   # the SDK's Query builder sends group_by_source: false
            raise ParameterError(f"{name}: '{key}' with 'k_neighbors' is not supported by the emulator")
    k = p["k_neighbors"]
    if k < 1:
        raise ParameterError(f"{name}: 'k_neighbors' must be a positive integer")
    blob = txn.next_blob(name)
    if len(blob) != 4 * s.width:
        raise QueryError(f"{name}: the query descriptor blob has {len(blob)} bytes but set "
                         f"'{p['set']}' has {s.width} dimensions ({4 * s.width} bytes of float32)")
    query = np.frombuffer(blob, dtype="<f4")
    metric = p.get("metric", s.rect[0])
    comp = compile_constraints(p.get("constraints"))
    connected = _connected_spec(txn, name, p["is_connected_to"]) if "is_connected_to" in p else None
    label = p.get("with_label")

    def accept(o):
        if label is not None and o.props.get("_label") != label:
            return False
        if connected is not None and o.oid not in connected:
            return False
        return comp is None or comp.match(o.get)

    knn_first = p.get("knn_first", True)
    found = knn(index_for(txn.store, s), query, k, metric, None if knn_first else accept)
    if knn_first:
        found = [(o, d) for o, d in found if accept(o)]
    items = [o for o, _ in found]
    if "sort" in p:
        items = sort_items(items, parse_sort(p["sort"]))
    items = page(name, p, items)
    bind_objects(txn, p, items)
    return Selection(items, None, len(found)), {o.oid: d for o, d in found}


def delete_descriptor(txn, name, p):
    items = targets(txn, name, p, DESCRIPTOR)
    for o in items:
        txn.store.delete_object(o)   # the set's vector index skips deleted objects
    return {"status": STATUS_OK, "count": len(items)}


def update_descriptor(txn, name, p):
    return update_objects(txn, name, p, DESCRIPTOR)


def _blobs(p):
    return 1 if "k_neighbors" in p else 0


COMMANDS = {
    "AddDescriptorSet": Command(add_descriptor_set, {**ADD_PARAMS, "name": "str", "dimensions": "int",
                                                     "metric": "any", "engine": "any"},
                                required=("name", "dimensions")),
    "FindDescriptorSet": Command(find_descriptor_set, {**FIND_PARAMS, "with_name": "str", "engines": "bool",
                                                       "metrics": "bool", "dimensions": "bool",
                                                       "counts": "bool"}),
    "DeleteDescriptorSet": Command(delete_descriptor_set, {**DELETE_PARAMS, "with_name": "str"}),
    "AddDescriptor": Command(add_descriptor, {**ADD_PARAMS, "set": "str", "label": "str"},
                             required=("set",), blobs=lambda p: 1),
    "FindDescriptor": Command(find_descriptor, {**FIND_PARAMS, "set": "str", "k_neighbors": "int",
                                                "knn_first": "bool", "engine": "str", "metric": "str",
                                                "labels": "bool", "distances": "bool", "blobs": "bool",
                                                "with_label": "str", "indexed_results_only": "bool"},
                              blobs=_blobs),
    "UpdateDescriptor": Command(update_descriptor, dict(UPDATE_PARAMS)),
    "DeleteDescriptor": Command(delete_descriptor, dict(DELETE_PARAMS)),
}
