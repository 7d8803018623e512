"""Graph state: objects (entities, images, regions), connections, indexes.

Every mutation goes through methods that record their inverse, so a failed
transaction is undone exactly (``rollback``); ``commit`` writes the touched
rows to SQLite when a data directory is configured. Equality hash indexes are
built lazily per (class, property) and kept up to date, so ``==``/``in``
lookups (what the SDK's CSV loaders do for every row) do not scan.
"""
import json
import os
import sqlite3
import threading

from .constraints import MISSING, dump_value, index_key, parse_value

IMAGE = "_Image"
BLOB = "_Blob"
BBOX = "_BoundingBox"
POLYGON = "_Polygon"
BBOX_TO_IMAGE = "_BoundingBoxToImage"
POLYGON_TO_IMAGE = "_PolygonToImage"
REGION_CONNECTION = {BBOX: BBOX_TO_IMAGE, POLYGON: POLYGON_TO_IMAGE}


class Obj:
    __slots__ = ("oid", "cls", "uid", "props", "blob", "fmt", "width", "height", "rect", "polygons",
                 "media")

    def __init__(self, oid, cls, uid, props):
        self.oid, self.cls, self.uid, self.props = oid, cls, uid, props
        self.blob = self.fmt = self.rect = self.polygons = None
        self.media = None            # clips and frames: their position as given (commands/videos.py)
        self.width = self.height = None

    def get(self, key):
        if key == "_uniqueid":
            return self.uid
        return self.props.get(key, MISSING)

    def extra(self):
        return {"fmt": self.fmt, "width": self.width, "height": self.height,
                "rect": self.rect, "polygons": self.polygons, "media": self.media}


class Conn:
    __slots__ = ("cid", "cls", "uid", "src", "dst", "props")

    def __init__(self, cid, cls, uid, src, dst, props):
        self.cid, self.cls, self.uid, self.src, self.dst, self.props = cid, cls, uid, src, dst, props

    def get(self, key):
        if key == "_uniqueid":
            return self.uid
        if key == "_src":
            return self.src.uid
        if key == "_dst":
            return self.dst.uid
        return self.props.get(key, MISSING)


class RefSet:
    __slots__ = ("kind", "items", "sources")

    def __init__(self, kind, items, sources=None):
        self.kind = kind            # "object" | "connection"
        self.items = items          # list of Obj / Conn
        self.sources = sources      # optional {oid: source Obj} (traversals)



def _dump_props(props):
    return json.dumps({k: dump_value(v) for k, v in props.items()})


def _load_props(text):
    return {k: parse_value(v, k) for k, v in json.loads(text).items()}


class Store:
    def __init__(self, data_dir=None):
        self.lock = threading.RLock()
        self.data_dir = data_dir
        self._db = None
        self._clear()
        if data_dir:
            os.makedirs(data_dir, exist_ok=True)
            self._db = sqlite3.connect(os.path.join(data_dir, "aperturedb.sqlite3"),
                                       check_same_thread=False)
            self._db.executescript(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                "CREATE TABLE IF NOT EXISTS objects (oid INTEGER PRIMARY KEY, cls TEXT, uid TEXT,"
                " props TEXT, extra TEXT, blob BLOB);"
                "CREATE TABLE IF NOT EXISTS connections (cid INTEGER PRIMARY KEY, cls TEXT, uid TEXT,"
                " src INTEGER, dst INTEGER, props TEXT);"
                "CREATE TABLE IF NOT EXISTS indexes (target TEXT, cls TEXT, prop TEXT, kind TEXT,"
                " PRIMARY KEY (target, cls, prop, kind));"
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);")
            self._load()

    # ------------------------------------------------------------ state
    def _clear(self):
        self.objects = {}            # oid -> Obj
        self.by_class = {}           # cls -> {oid: Obj} (insertion order)
        self.conns = {}              # cid -> Conn
        self.conns_by_class = {}     # cls -> {cid: Conn}
        self.out_edges = {}          # oid -> {cid: Conn} (oid is src)
        self.in_edges = {}           # oid -> {cid: Conn} (oid is dst)
        self.by_uid = {}             # uid -> Obj | Conn
        self.eq_index = {}           # ("o"|"c", cls, prop) -> {key: {id: item}}
        self.indexes = set()         # (target, cls, prop, kind)
        self.next_id = 1
        self.txn_id = 0
        self.version = 0
        self._undo = []
        self._dirty_objs = set()
        self._dirty_conns = set()
        self._dirty_indexes = False
        self.cache = {}
        self.batches = {}            # batched reads: query key -> (items, total), see commands/batch.py
        self.vectors = {}            # descriptor set name -> vector index, see commands/descriptors.py

    def reset(self):
        with self.lock:
            self._clear()
            if self._db is not None:
                self._db.executescript("DELETE FROM objects; DELETE FROM connections;"
                                       " DELETE FROM indexes; DELETE FROM meta;")
                self._db.commit()

    def close(self):
        with self.lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _load(self):
        db = self._db
        for oid, cls, uid, props, extra, blob in db.execute(
                "SELECT oid, cls, uid, props, extra, blob FROM objects ORDER BY oid"):
            o = Obj(oid, cls, uid, _load_props(props))
            ex = json.loads(extra)
            o.fmt, o.width, o.height = ex.get("fmt"), ex.get("width"), ex.get("height")
            o.rect, o.polygons, o.blob = ex.get("rect"), ex.get("polygons"), blob
            o.media = ex.get("media")
            self._insert_obj(o)
            self.next_id = max(self.next_id, oid + 1)
        for cid, cls, uid, src, dst, props in db.execute(
                "SELECT cid, cls, uid, src, dst, props FROM connections ORDER BY cid"):
            c = Conn(cid, cls, uid, self.objects[src], self.objects[dst], _load_props(props))
            self._insert_conn(c)
            self.next_id = max(self.next_id, cid + 1)
        for row in db.execute("SELECT target, cls, prop, kind FROM indexes"):
            self.indexes.add(tuple(row))
        for key, value in db.execute("SELECT key, value FROM meta"):
            if key == "txn_id":
                self.txn_id = int(value)
            elif key == "next_id":
                self.next_id = max(self.next_id, int(value))

    # ------------------------------------------------------------ transactions
    def begin(self):
        self.txn_id += 1
        self._undo = []
        self._dirty_objs = set()
        self._dirty_conns = set()
        self._dirty_indexes = False

    def on_rollback(self, fn):
        """Run `fn` if the current transaction is rolled back (derived state such as vector
        indexes undoes itself this way)."""
        self._undo.append(fn)

    def rollback(self):
        self.cache.clear()
        for fn in reversed(self._undo):
            fn()
        self._undo = []
        self._dirty_objs.clear()
        self._dirty_conns.clear()
        self._dirty_indexes = False

    def commit(self):
        changed = bool(self._undo)
        self._undo = []
        if changed:
            self.version += 1
            self.cache.clear()
        if self._db is not None and (changed or self._dirty_indexes):
            self._persist()

    def _persist(self):
        db = self._db
        with db:
            for oid in self._dirty_objs:
                o = self.objects.get(oid)
                if o is None:
                    db.execute("DELETE FROM objects WHERE oid=?", (oid,))
                else:
                    db.execute("INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?,?)",
                               (o.oid, o.cls, o.uid, _dump_props(o.props), json.dumps(o.extra()), o.blob))
            for cid in self._dirty_conns:
                c = self.conns.get(cid)
                if c is None:
                    db.execute("DELETE FROM connections WHERE cid=?", (cid,))
                else:
                    db.execute("INSERT OR REPLACE INTO connections VALUES (?,?,?,?,?,?)",
                               (c.cid, c.cls, c.uid, c.src.oid, c.dst.oid, _dump_props(c.props)))
            if self._dirty_indexes:
                db.execute("DELETE FROM indexes")
                db.executemany("INSERT INTO indexes VALUES (?,?,?,?)", sorted(self.indexes))
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?,?)",
                           [("txn_id", str(self.txn_id)), ("next_id", str(self.next_id))])
        self._dirty_objs = set()
        self._dirty_conns = set()
        self._dirty_indexes = False

    # ------------------------------------------------------------ raw ops (index upkeep)
    def _index_add(self, kind, cls, item, props):
        for (k, c, prop), idx in self.eq_index.items():
            if k == kind and c == cls and prop in props:
                idx.setdefault(index_key(props[prop]), {})[item_id(item)] = item

    def _index_remove(self, kind, cls, item, props):
        for (k, c, prop), idx in self.eq_index.items():
            if k == kind and c == cls and prop in props:
                bucket = idx.get(index_key(props[prop]))
                if bucket is not None:
                    bucket.pop(item_id(item), None)

    def _insert_obj(self, o):
        self.objects[o.oid] = o
        self.by_class.setdefault(o.cls, {})[o.oid] = o
        self.by_uid[o.uid] = o
        self._index_add("o", o.cls, o, o.props)

    def _remove_obj(self, o):
        del self.objects[o.oid]
        members = self.by_class[o.cls]
        del members[o.oid]
        if not members:
            del self.by_class[o.cls]
        del self.by_uid[o.uid]
        self._index_remove("o", o.cls, o, o.props)

    def _insert_conn(self, c):
        self.conns[c.cid] = c
        self.conns_by_class.setdefault(c.cls, {})[c.cid] = c
        self.out_edges.setdefault(c.src.oid, {})[c.cid] = c
        self.in_edges.setdefault(c.dst.oid, {})[c.cid] = c
        self.by_uid[c.uid] = c
        self._index_add("c", c.cls, c, c.props)

    def _remove_conn(self, c):
        del self.conns[c.cid]
        members = self.conns_by_class[c.cls]
        del members[c.cid]
        if not members:
            del self.conns_by_class[c.cls]
        for edges, oid in ((self.out_edges, c.src.oid), (self.in_edges, c.dst.oid)):
            e = edges[oid]
            del e[c.cid]
            if not e:
                del edges[oid]
        del self.by_uid[c.uid]
        self._index_remove("c", c.cls, c, c.props)

    def _set_prop_raw(self, kind, item, key, value):
        cls = item.cls
        old = item.props.get(key, MISSING)
        if old is not MISSING:
            self._index_remove(kind, cls, item, {key: old})
        if value is MISSING:
            item.props.pop(key, None)
        else:
            item.props[key] = value
            self._index_add(kind, cls, item, {key: value})

    # ------------------------------------------------------------ public mutations
    def _new_uid(self, oid):
        return f"{oid}.0.{self.txn_id}"

    def add_object(self, cls, props):
        self.cache.clear()
        oid = self.next_id
        self.next_id += 1
        o = Obj(oid, cls, self._new_uid(oid), dict(props))
        self._insert_obj(o)
        self._dirty_objs.add(oid)
        self._undo.append(lambda: self._remove_obj(o))
        return o

    def delete_object(self, o):
        self.cache.clear()
        for c in list(self.out_edges.get(o.oid, {}).values()) + list(self.in_edges.get(o.oid, {}).values()):
            if c.cid in self.conns:
                self.delete_connection(c)
        self._remove_obj(o)
        self._dirty_objs.add(o.oid)
        self._undo.append(lambda: self._insert_obj(o))

    def set_prop(self, item, key, value):
        self.cache.clear()
        kind = "c" if isinstance(item, Conn) else "o"
        old = item.props.get(key, MISSING)
        self._set_prop_raw(kind, item, key, value)
        self._mark(item)
        self._undo.append(lambda: self._set_prop_raw(kind, item, key, old))

    def set_attr(self, o, name, value):
        self.cache.clear()
        old = getattr(o, name)
        setattr(o, name, value)
        self._mark(o)
        self._undo.append(lambda: setattr(o, name, old))

    def _mark(self, item):
        if isinstance(item, Conn):
            self._dirty_conns.add(item.cid)
        else:
            self._dirty_objs.add(item.oid)

    def add_connection(self, cls, src, dst, props):
        self.cache.clear()
        cid = self.next_id
        self.next_id += 1
        c = Conn(cid, cls, self._new_uid(cid), src, dst, dict(props))
        self._insert_conn(c)
        self._dirty_conns.add(cid)
        self._undo.append(lambda: self._remove_conn(c))
        return c

    def delete_connection(self, c):
        self.cache.clear()
        self._remove_conn(c)
        self._dirty_conns.add(c.cid)
        self._undo.append(lambda: self._insert_conn(c))

    def add_index(self, key):
        if key in self.indexes:
            return False
        self.indexes.add(key)
        self._dirty_indexes = True
        self._undo.append(lambda: self.indexes.discard(key))
        return True

    def remove_index(self, key):
        if key not in self.indexes:
            return False
        self.indexes.discard(key)
        self._dirty_indexes = True
        self._undo.append(lambda: self.indexes.add(key))
        return True

    # ------------------------------------------------------------ lookups
    def lookup_eq(self, kind, cls, prop, values):
        """Items of class `cls` whose `prop` equals one of `values` (hash index)."""
        if prop == "_uniqueid":
            out = {}
            for v in values:
                item = self.by_uid.get(v) if isinstance(v, str) else None
                if item is not None and item.cls == cls and isinstance(item, Conn) == (kind == "c"):
                    out[item_id(item)] = item
            return out
        idx = self.eq_index.get((kind, cls, prop))
        if idx is None:
            idx = {}
            members = self.by_class.get(cls, {}) if kind == "o" else self.conns_by_class.get(cls, {})
            for item in members.values():
                v = item.props.get(prop, MISSING)
                if v is not MISSING:
                    idx.setdefault(index_key(v), {})[item_id(item)] = item
            self.eq_index[(kind, cls, prop)] = idx
        out = {}
        for v in values:
            bucket = idx.get(index_key(v))
            if bucket:
                out.update(bucket)
        return out


def item_id(item):
    return item.cid if isinstance(item, Conn) else item.oid
