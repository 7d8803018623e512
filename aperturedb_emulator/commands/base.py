"""Command specs: parameter names and types, checked before the transaction runs."""
from ..errors import ParameterError
from .batch import check_batch

TYPES = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "num": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "dict": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
    "constraints": lambda v: isinstance(v, (dict, list)),
    "sort": lambda v: isinstance(v, (str, dict, list)),
    "any": lambda v: True,
}
TYPE_NAMES = {"int": "an integer", "num": "a number", "bool": "a boolean", "str": "a string",
              "dict": "an object", "list": "an array", "constraints": "an object or an array",
              "sort": "a string, an object or an array", "any": "a value"}


class Command:
    def __init__(self, run, params, required=(), blobs=None, check=None):
        self._run = run
        self.params = params
        self.required = required
        self._blobs = blobs
        self._check = check

    def validate(self, name, p):
        for key, value in p.items():
            t = self.params.get(key)
            if t is None:
                raise ParameterError(f"{name}: unknown parameter '{key}'")
            if not TYPES[t](value):
                raise ParameterError(f"{name}: parameter '{key}' must be {TYPE_NAMES[t]}")
        for key in self.required:
            if key not in p:
                raise ParameterError(f"{name}: missing required parameter '{key}'")
        if "results" in p:
            check_results(name, p["results"])
        if "batch" in p:
            check_batch(name, p["batch"])
            if p.get("group_by_source"):
                raise ParameterError(f"{name}: 'batch' cannot be combined with 'group_by_source'")
        if self._check:
            self._check(name, p)

    def blobs_needed(self, p):
        return self._blobs(p) if self._blobs else 0

    def run(self, txn, name, p):
        return self._run(txn, name, p)


RESULTS_KEYS = {"list": "list", "all_properties": "bool", "count": "bool", "limit": "int",
                "sort": "sort", "group": "any", "sum": "any", "average": "any",
                "min": "any", "max": "any"}


def check_results(name, r):
    for key, value in r.items():
        t = RESULTS_KEYS.get(key)
        if t is None:
            raise ParameterError(f"{name}: unknown key in 'results': '{key}'")
        if not TYPES[t](value):
            raise ParameterError(f"{name}: 'results.{key}' must be {TYPE_NAMES[t]}")
    if "list" in r and not all(isinstance(x, str) for x in r["list"]):
        raise ParameterError(f"{name}: 'results.list' must be an array of property names")


FIND_PARAMS = {"_ref": "int", "constraints": "constraints", "results": "dict", "unique": "bool",
               "sort": "sort", "limit": "int", "offset": "int", "uniqueids": "bool",
               "is_connected_to": "dict", "group_by_source": "bool", "batch": "dict"}
ADD_PARAMS = {"_ref": "int", "properties": "dict", "if_not_found": "constraints", "connect": "dict"}
UPDATE_PARAMS = {"ref": "int", "constraints": "constraints", "properties": "dict",
                 "remove_props": "list"}
DELETE_PARAMS = {"ref": "int", "constraints": "constraints"}
