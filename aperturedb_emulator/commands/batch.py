"""The `batch` parameter of Find commands: one result set read in numbered batches.

Shapes, from the SDK and ApertureData's own clients of the real server:
- aperture-data/aperturedb-python aperturedb/PyTorchDataset.py (and TensorFlowDataset.py): sends
  ``"batch": {}`` and reads ``reply["batch"]["total_elements"]``, then sends
  ``{"batch_size": n, "batch_id": k}`` and takes the k-th batch's ``entities`` and blobs.
- aperture-data/workflows apps/text-embeddings/app/aperturedb_io.py: FindEntity with ``"batch": {}``,
  then ``batch_id`` 0 .. ceil(total_elements / batch_size) - 1.
- aperture-data/workflows apps/sql-server/fdw/fdw/__init__.py: sends ``{"batch_id": 0, "batch_size": n}``,
  reads ``reply["batch"]["batch_id"]``, ``["total_elements"]`` and ``["end"]``, stops when
  ``end >= total_elements``; fdw/table.py: "Cannot use batch with group_by_source"; fdw/__init__.py:
  FindConnection "might not handle batching" (it is not accepted there).

The server keeps the result set of a batched read, so later batches page one stable snapshot
(ApertureData's SDK reads ``total_elements`` once and then asks for batches by number). The emulator
takes its snapshot when ``batch_id`` is 0 or absent (or when none is kept yet) and serves later
batch ids from it; objects deleted since drop out of their batch without moving the others.
Assumptions (docs/emulator-evidence.md): the snapshot's key (the whole query, this command
without the parameters that only shape the reply), its lifetime (until the next batch_id 0 of that query; at most SNAPSHOTS kept),
and that ``{}`` without ``batch_size`` is one batch holding the whole set.
"""
import copy
import json

from ..errors import ParameterError

BATCH_KEYS = ("batch_id", "batch_size")
SNAPSHOTS = 64


def check_batch(name, batch):
    """Validation before the transaction runs: only batch_id (>= 0) and batch_size (>= 1)."""
    for key, value in batch.items():
        if key not in BATCH_KEYS:
            raise ParameterError(f"{name}: unknown key in 'batch': '{key}'")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"{name}: 'batch.{key}' must be an integer")
    if batch.get("batch_id", 0) < 0:
        raise ParameterError(f"{name}: 'batch.batch_id' must not be negative")
    if batch.get("batch_size", 1) < 1:
        raise ParameterError(f"{name}: 'batch.batch_size' must be at least 1")


# Parameters that shape the reply but not which objects are read: a reader may switch them between
# batches (the SDK's PyTorchDataset asks for "batch": {} with blobs false, then for batches with blobs).
REPLY_ONLY = ("batch", "blobs", "as_format", "operations", "uniqueids", "results", "coordinates",
              "labels", "vertices", "bounds", "hulls", "areas")


def snapshot_key(txn, p):
    """The whole query, this command reduced to what selects its objects: the same read, any batch."""
    query = copy.deepcopy(txn.query)
    ((name, _),) = query[txn.index].items()
    query[txn.index] = {name: {k: v for k, v in p.items() if k not in REPLY_ONLY}}
    return json.dumps(query, sort_keys=True)


def cached(txn, p):
    """The kept (items, total) of this read when a later batch is asked for, else None."""
    if p["batch"].get("batch_id", 0) == 0:
        return None
    return txn.store.batches.get(snapshot_key(txn, p))


def keep(txn, p, items, total):
    snaps = txn.store.batches
    key = snapshot_key(txn, p)
    snaps.pop(key, None)
    snaps[key] = (list(items), total)
    while len(snaps) > SNAPSHOTS:
        snaps.pop(next(iter(snaps)))


def cut(txn, p, items):
    """(items of the asked batch still in the store, the reply's "batch" object)."""
    spec = p["batch"]
    total = len(items)
    batch_id = spec.get("batch_id", 0)
    size = spec.get("batch_size", max(total, 1))
    start = min(batch_id * size, total)
    end = min(start + size, total)
    live = txn.store.objects
    kept = [o for o in items[start:end] if live.get(o.oid) is o]
    return kept, {"batch_id": batch_id, "total_elements": total, "end": end}
