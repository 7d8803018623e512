"""AddConnection, FindConnection, UpdateConnection, DeleteConnection."""
from ..constraints import compile_constraints, parse_properties
from ..errors import OBJECT_EXISTS, QueryError, STATUS_EXISTS, STATUS_OK
from ..store import RefSet
from .base import Command
from .common import Selection, _scan, find_response, page, parse_sort, sort_items, update_props


def _objects(txn, name, p, key):
    rs = txn.ref(p[key], name, key)
    if rs.kind != "object":
        raise QueryError(f"{name}: {key} must refer to objects, not connections")
    return rs.items


def add_connection(txn, name, p):
    cls = p["class"]
    srcs, dsts = _objects(txn, name, p, "src"), _objects(txn, name, p, "dst")
    if not srcs or not dsts:
        raise QueryError(f"{name}: src and dst must refer to at least one object each "
                         f"(src has {len(srcs)}, dst has {len(dsts)})")
    props = parse_properties(p.get("properties", {}))
    store = txn.store
    if "if_not_found" in p:
        comp = compile_constraints(p["if_not_found"])
        dst_ids = {d.oid for d in dsts}
        found = [c for s in srcs for c in store.out_edges.get(s.oid, {}).values()
                 if c.cls == cls and c.dst.oid in dst_ids and (comp is None or comp.match(c.get))]
        if found:
            if "_ref" in p:
                txn.refs[p["_ref"]] = RefSet("connection", found)
            return {"status": STATUS_EXISTS, "info": OBJECT_EXISTS}
    made = [store.add_connection(cls, s, d, props) for s in srcs for d in dsts]
    if "_ref" in p:
        txn.refs[p["_ref"]] = RefSet("connection", made)
    return {"status": STATUS_OK}


def _match(txn, name, p):
    store = txn.store
    comp = compile_constraints(p.get("constraints"))
    if "ref" in p:
        rs = txn.ref(p["ref"], name, "ref")
        if rs.kind != "connection":
            raise QueryError(f"{name}: ref must refer to connections")
        items = [c for c in rs.items if c.cid in store.conns]
        if comp is not None:
            items = [c for c in items if comp.match(c.get)]
    elif "src" in p or "dst" in p:
        src_ids = {o.oid for o in _objects(txn, name, p, "src")} if "src" in p else None
        dst_ids = {o.oid for o in _objects(txn, name, p, "dst")} if "dst" in p else None
        if src_ids is not None:
            pool = [c for oid in src_ids for c in store.out_edges.get(oid, {}).values()]
        else:
            pool = [c for oid in dst_ids for c in store.in_edges.get(oid, {}).values()]
        items = [c for c in pool
                 if (dst_ids is None or c.dst.oid in dst_ids)
                 and ("with_class" not in p or c.cls == p["with_class"])
                 and (comp is None or comp.match(c.get))]
        items.sort(key=lambda c: c.cid)
    else:
        items = _scan(store, "c", p.get("with_class"), comp)
    if "ref" in p and "with_class" in p:
        items = [c for c in items if c.cls == p["with_class"]]
    return items


def find_connection(txn, name, p):
    """Properties come back under "connections", not "entities" (Cookbook
    notebooks/simple/Connections.ipynb; docs query_language/Overview/Responses)."""
    matched = sort_items(_match(txn, name, p), parse_sort(p.get("sort")))
    items = page(name, p, matched)
    if "_ref" in p:
        txn.refs[p["_ref"]] = RefSet("connection", items)
    return find_response(name, p, Selection(items, None, len(matched)), key="connections")


def update_connection(txn, name, p):
    items = _match(txn, name, p)
    update_props(txn, name, p, items)
    return {"status": STATUS_OK, "count": len(items)}


def delete_connection(txn, name, p):
    items = _match(txn, name, p)
    for c in items:
        txn.store.delete_connection(c)
    return {"status": STATUS_OK, "count": len(items)}


SELECT = {"ref": "int", "with_class": "str", "src": "int", "dst": "int", "constraints": "constraints"}
COMMANDS = {
    "AddConnection": Command(add_connection, {"_ref": "int", "class": "str", "src": "int", "dst": "int",
                                              "properties": "dict", "if_not_found": "constraints"},
                             required=("class", "src", "dst")),
    "FindConnection": Command(find_connection, {**SELECT, "_ref": "int", "results": "dict",
                                                "unique": "bool", "sort": "sort", "limit": "int",
                                                "offset": "int", "uniqueids": "bool"}),
    "UpdateConnection": Command(update_connection, {**SELECT, "properties": "dict",
                                                    "remove_props": "list"}),
    "DeleteConnection": Command(delete_connection, dict(SELECT)),
}
