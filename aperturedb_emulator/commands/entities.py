"""AddEntity, FindEntity, UpdateEntity, DeleteEntity (user classes)."""
from ..constraints import parse_properties
from ..errors import ParameterError, STATUS_OK
from .base import ADD_PARAMS, Command, DELETE_PARAMS, FIND_PARAMS, UPDATE_PARAMS
from .common import (apply_connect, bind_objects, conditional_existing, exists_response,
                     find_response, select_objects, targets, update_props)


def add_entity(txn, name, p):
    cls = p["class"]
    if not cls:
        raise ParameterError(f"{name}: class must not be empty")
    props = parse_properties(p.get("properties", {}))
    existing = conditional_existing(txn, name, p, cls)
    if existing:
        return exists_response(txn, p, existing)
    o = txn.store.add_object(cls, props)
    apply_connect(txn, name, p, o)
    bind_objects(txn, p, [o])
    return {"status": STATUS_OK}


def find_entity(txn, name, p):
    return find_response(name, p, select_objects(txn, name, p, p.get("with_class")))


def update_entity(txn, name, p):
    items = targets(txn, name, p, p.get("with_class"))
    update_props(txn, name, p, items)
    return {"status": STATUS_OK, "count": len(items)}


def delete_entity(txn, name, p):
    items = targets(txn, name, p, p.get("with_class"))
    for o in items:
        txn.store.delete_object(o)
    return {"status": STATUS_OK, "count": len(items)}


def _delete_unsupported_kind(cls):
    """Video, Blob, Clip, Frame and DescriptorSet objects cannot be added in the emulator, so
    their Delete commands (sent e.g. by aperturedb.Utils.remove_all_objects) match nothing."""
    def run(txn, name, p):
        return delete_entity(txn, name, {**p, "with_class": cls})
    return run


COMMANDS = {
    **{f"Delete{k}": Command(_delete_unsupported_kind(f"_{k}"), dict(DELETE_PARAMS))
       for k in ("Video", "Blob", "Clip", "Frame", "DescriptorSet")},
    "AddEntity": Command(add_entity, {**ADD_PARAMS, "class": "str"}, required=("class",)),
    "FindEntity": Command(find_entity, {**FIND_PARAMS, "with_class": "str"}),
    "UpdateEntity": Command(update_entity, {**UPDATE_PARAMS, "with_class": "str"}),
    "DeleteEntity": Command(delete_entity, {**DELETE_PARAMS, "with_class": "str"}),
}
