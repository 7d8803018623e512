"""AddEntity, FindEntity, UpdateEntity, DeleteEntity (user classes)."""
from ..constraints import parse_properties
from ..errors import ParameterError, STATUS_OK
from .base import ADD_PARAMS, Command, DELETE_PARAMS, FIND_PARAMS, UPDATE_PARAMS
from .common import (apply_connect, bind_objects, conditional_existing, delete_objects, exists_response,
                     find_response, select_objects, update_objects)


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
    return update_objects(txn, name, p, p.get("with_class"))


def delete_entity(txn, name, p):
    return delete_objects(txn, name, p, p.get("with_class"))


def _delete_unsupported_kind(cls):
    """Video, Clip and Frame objects cannot be added in the emulator, so
    their Delete commands (sent e.g. by aperturedb.Utils.remove_all_objects) match nothing."""
    def run(txn, name, p):
        return delete_entity(txn, name, {**p, "with_class": cls})
    return run


COMMANDS = {
    **{f"Delete{k}": Command(_delete_unsupported_kind(f"_{k}"), dict(DELETE_PARAMS))
       for k in ("Video", "Clip", "Frame")},
    "AddEntity": Command(add_entity, {**ADD_PARAMS, "class": "str"}, required=("class",)),
    "FindEntity": Command(find_entity, {**FIND_PARAMS, "with_class": "str"}),
    "UpdateEntity": Command(update_entity, {**UPDATE_PARAMS, "with_class": "str"}),
    "DeleteEntity": Command(delete_entity, {**DELETE_PARAMS, "with_class": "str"}),
}
