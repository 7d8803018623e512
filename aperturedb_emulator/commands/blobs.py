"""AddBlob, FindBlob, UpdateBlob, DeleteBlob: opaque bytes with properties, class `_Blob`.

Shapes recorded from a real server in Cookbook notebooks/simple/Blobs.ipynb: AddBlob (properties,
if_not_found, the bytes as the message's next blob) -> {"status": 0}; FindBlob with blobs: true
and results.all_properties -> {"blobs_start": 0, "entities": [{"_blob_index": 0, "_uniqueid": ...,
<properties>}], "returned": 1, "status": 0} ("blobs" is false by default, the notebook says);
UpdateBlob/DeleteBlob -> {"count": n, "status": 0}. The class name `_Blob` is the one the SDK's
BlobDataCSV loader indexes (aperturedb/BlobDataCSV.py get_indices).
"""
from ..constraints import parse_properties
from ..errors import STATUS_OK
from ..store import BLOB
from .base import ADD_PARAMS, Command, DELETE_PARAMS, FIND_PARAMS, UPDATE_PARAMS
from .common import (apply_connect, bind_objects, conditional_existing, delete_objects, exists_response,
                     find_with_blobs, select_objects, stored_blobs, update_objects)


def add_blob(txn, name, p):
    data = txn.next_blob(name)
    props = parse_properties(p.get("properties", {}))
    existing = conditional_existing(txn, name, p, BLOB)
    if existing:
        return exists_response(txn, p, existing)
    o = txn.store.add_object(BLOB, props)
    o.blob = bytes(data)
    apply_connect(txn, name, p, o)
    bind_objects(txn, p, [o])
    return {"status": STATUS_OK}


def find_blob(txn, name, p):
    return find_with_blobs(txn, name, p, select_objects(txn, name, p, BLOB), stored_blobs)


COMMANDS = {
    "AddBlob": Command(add_blob, dict(ADD_PARAMS), blobs=lambda p: 1),
    "FindBlob": Command(find_blob, {**FIND_PARAMS, "blobs": "bool"}),
    "UpdateBlob": Command(lambda txn, name, p: update_objects(txn, name, p, BLOB), dict(UPDATE_PARAMS)),
    "DeleteBlob": Command(lambda txn, name, p: delete_objects(txn, name, p, BLOB), dict(DELETE_PARAMS)),
}
