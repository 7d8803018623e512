"""Per-set vector index: one contiguous float32 matrix, exact k-NN by matrix product.

Products and norms are summed in float64 and rounded once to float32 (``_dots``): numpy's float32
BLAS kernels add in an order that depends on the CPU's instruction set, so the last bit of a
distance, and with it the order of tied neighbours, would change from one machine to the next.
The real server's float32 kernels (FAISS) have an order of their own; the values agree with its
recorded answers to float32 precision (within one unit in the last place), which is what the
emulator claims.

The descriptor objects in the store are the truth (each keeps its vector as its blob, so
persistence needs nothing more); the index is derived state. It is built lazily from the
store, appended to by AddDescriptor, and dropped whenever a transaction that touched it
rolls back (Store.on_rollback) or its set is deleted, so it is rebuilt from the store next
time. Deleted descriptors (by any command: DeleteDescriptor, DeleteEntity, DeleteDescriptorSet)
stay in the matrix until the next rebuild and are skipped when results are collected.
"""
import numpy as np

SET = "_DescriptorSet"
DESCRIPTOR = "_Descriptor"
SET_TO_DESCRIPTOR = "_DescriptorSetToDescriptor"


class VectorIndex:
    def __init__(self, store, set_obj):
        self.store = store
        self.set_obj = set_obj
        self.name = set_obj.props["_name"]
        self.dims = set_obj.width
        self.objs = []
        self.mat = np.empty((16, self.dims), dtype=np.float32)
        self.sq = np.empty(16, dtype=np.float64)      # squared norms (L2 and CS)
        self.dead = 0
        members = store.lookup_eq("o", DESCRIPTOR, "_set_name", [self.name])
        for o in sorted(members.values(), key=lambda o: o.oid):
            self._push(o)

    @property
    def n(self):
        return len(self.objs)

    def _push(self, o):
        n = len(self.objs)
        if n == len(self.mat):
            self.mat = np.concatenate([self.mat, np.empty_like(self.mat)])
            self.sq = np.concatenate([self.sq, np.empty_like(self.sq)])
        v = np.frombuffer(o.blob, dtype="<f4")
        self.mat[n] = v
        v = v.astype(np.float64)
        self.sq[n] = np.dot(v, v)
        self.objs.append(o)

    def append(self, o):
        self._push(o)
        self.store.on_rollback(self.drop)

    def drop(self):
        if self.store.vectors.get(self.name) is self:
            del self.store.vectors[self.name]

    def live(self, o):
        return self.store.objects.get(o.oid) is o



def index_for(store, set_obj):
    """The index of `set_obj`, (re)built when missing or made for an older set of that name."""
    name = set_obj.props["_name"]
    idx = store.vectors.get(name)
    if idx is None or idx.set_obj is not set_obj or idx.dead > max(1024, idx.n // 2):
        idx = VectorIndex(store, set_obj)
        store.vectors[name] = idx
        store.on_rollback(idx.drop)
    return idx


def scores(idx, query, metric):
    """(value per row, larger_is_closer). L2: squared Euclidean distance; IP: inner product;
    CS: cosine similarity (docs FindDescriptor `distances`: "For L2, the value is the square of
    the Euclidean distance and will decrease with similarity. For IP and CS ... will increase
    with similarity"; Cookbook VectorSearch.ipynb records CS values equal to the cosine)."""
    n = idx.n
    query = query.astype(np.float64)
    dot = _dots(idx.mat[:n], query)
    if metric == "IP":
        return dot.astype(np.float32), True
    if metric == "CS":
        norms = np.sqrt(idx.sq[:n]) * np.sqrt(np.dot(query, query))
        with np.errstate(divide="ignore", invalid="ignore"):
            cs = np.where(norms > 0, dot / norms, 0.0)
        return cs.astype(np.float32), True
    return (idx.sq[:n] - 2 * dot + np.dot(query, query)).astype(np.float32), False


def _dots(mat, query, chunk=8192):
    """``mat @ query`` in float64 (``query`` float64), a chunk of rows at a time."""
    out = np.empty(len(mat), dtype=np.float64)
    for i in range(0, len(mat), chunk):
        out[i:i + chunk] = mat[i:i + chunk].astype(np.float64) @ query
    return out


def _order(values, larger, rows):
    """rows sorted closest first; ties keep insertion order."""
    key = -values[rows] if larger else values[rows]
    return rows[np.lexsort((rows, key))]


def knn(idx, query, k, metric, accept=None):
    """[(object, distance)] of the k closest live descriptors (that `accept` accepts)."""
    n = idx.n
    if n == 0:
        return []
    values, larger = scores(idx, query.astype(np.float32), metric)
    want = min(n, max(4 * k, k + 64))
    rows = np.arange(n)
    if want < n:
        part = np.argpartition(-values if larger else values, want - 1)[:want]
        rows = part
    if metric == "L2":   # exact values for the candidates (the expansion above loses digits)
        values = values.copy()
        values[rows] = _sq_dist(idx, rows, query)
    out = _collect(idx, _order(values, larger, rows), values, k, accept)
    if len(out) < k and want < n:      # too many candidates were deleted or rejected
        if metric == "L2":
            values = _sq_dist(idx, np.arange(n), query)
        out = _collect(idx, _order(values, larger, np.arange(n)), values, k, accept)
    return out


def _sq_dist(idx, rows, query, chunk=8192):
    """Squared Euclidean distances of `rows` to `query`, computed directly, in chunks."""
    out = np.empty(len(rows), dtype=np.float32)
    query = query.astype(np.float64)
    for i in range(0, len(rows), chunk):
        diff = idx.mat[rows[i:i + chunk]].astype(np.float64) - query
        out[i:i + chunk] = np.einsum("ij,ij->i", diff, diff)
    return out


def _collect(idx, order, values, k, accept):
    out, dead = [], 0
    for row in order.tolist():
        o = idx.objs[row]
        if not idx.live(o):
            dead += 1
            continue
        if accept is not None and not accept(o):
            continue
        out.append((o, float(values[row])))
        if len(out) == k:
            break
    idx.dead = max(idx.dead, dead)
    return out
