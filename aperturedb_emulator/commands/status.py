"""GetStatus, GetSchema, CreateIndex, RemoveIndex, GetIndexes."""
from ..constraints import type_name
from ..errors import ParameterError, QueryError, STATUS_OK
from ..store import BBOX
from .base import Command

VERSION = "0.19.0"
TARGETS = ("entity", "connection")


def get_status(txn, name, p):
    return {"status": STATUS_OK, "info": "OK", "system": "ApertureDB", "version": VERSION}


def _system_props(item):
    """GetSchema lists a bounding box's rectangle as _x, _y, _width, _height next to _label
    (docs query_language/Reference/db_commands/GetSchema, example response)."""
    rect = getattr(item, "rect", None)
    if item.cls == BBOX and rect is not None:
        return dict(zip(("_x", "_y", "_width", "_height"), rect))
    return {}


def _props_schema(members, indexed):
    props = {}
    for item in members:
        for k, v in list(item.props.items()) + list(_system_props(item).items()):
            entry = props.get(k)
            if entry is None:
                props[k] = [1, k in indexed, type_name(v)]
            else:
                entry[0] += 1
    return props or None


def get_schema(txn, name, p):
    store = txn.store
    idx = {}
    for target, cls, prop, _ in store.indexes:
        idx.setdefault((target, cls), set()).add(prop)
    classes = {}
    for cls, members in store.by_class.items():
        classes[cls] = {"matched": len(members),
                        "properties": _props_schema(members.values(), idx.get(("entity", cls), set()))}
    conns = {}
    for cls, members in store.conns_by_class.items():
        any_c = next(iter(members.values()))
        conns[cls] = {"matched": len(members), "src": any_c.src.cls, "dst": any_c.dst.cls,
                      "properties": _props_schema(members.values(), idx.get(("connection", cls), set()))}
    return {
        "status": STATUS_OK,
        "entities": {"returned": len(classes), "classes": classes} if classes else None,
        "connections": {"returned": len(conns), "classes": conns} if conns else None,
    }


def _index_key(name, p):
    target = p.get("index_type", p.get("target"))
    prop = p.get("property_key", p.get("property"))
    kind = p.get("kind", "ordered")
    if target not in TARGETS:
        raise ParameterError(f"{name}: index_type must be 'entity' or 'connection'")
    if not isinstance(p.get("class"), str) or not isinstance(prop, str):
        raise ParameterError(f"{name}: 'class' and 'property_key' are required strings")
    return (target, p["class"], prop, kind)


def create_index(txn, name, p):
    txn.store.add_index(_index_key(name, p))
    return {"status": STATUS_OK}


def remove_index(txn, name, p):
    key = _index_key(name, p)
    if not txn.store.remove_index(key):
        raise QueryError(f"{name}: no index on {key[0]} {key[1]}.{key[2]}")
    return {"status": STATUS_OK}


def get_indexes(txn, name, p):
    grouped = {}
    for target, cls, prop, kind in sorted(txn.store.indexes):
        if p.get("target", target) != target or p.get("class", cls) != cls:
            continue
        if p.get("property", prop) != prop or p.get("kind", kind) != kind:
            continue
        grouped.setdefault(target, {}).setdefault(cls, {}).setdefault(prop, []).append(
            {"kind": kind, "params": {}})
    return {"status": STATUS_OK, "indexes": grouped}


INDEX = {"index_type": "str", "target": "str", "class": "str", "property_key": "str",
         "property": "str", "kind": "str"}
COMMANDS = {
    "GetStatus": Command(get_status, {}),
    # "refresh" asks for an up-to-date schema; the emulator's is always computed afresh
    # (the SDK's Utils.get_schema says "refresh no longer needed").
    "GetSchema": Command(get_schema, {"refresh": "bool"}),
    "CreateIndex": Command(create_index, dict(INDEX)),
    "RemoveIndex": Command(remove_index, dict(INDEX)),
    "GetIndexes": Command(get_indexes, {"target": "str", "class": "str", "property": "str",
                                        "kind": "str"}),
}
