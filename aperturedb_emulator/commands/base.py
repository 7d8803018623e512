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
    """A command's accepted parameters (top level; nested blocks are checked by the check_*
    functions below). Anything else fails the transaction naming the parameter."""

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
            check_results(name, p["results"], self.params)
        p = hoist_results(p, name)
        if "sort" in p:
            check_sort(name, p["sort"])
        if "is_connected_to" in p:
            check_connected(name, p["is_connected_to"])
        if "connect" in p:
            check_connect(name, p["connect"])
        if "batch" in p:
            check_batch(name, p["batch"])
            if p.get("group_by_source"):
                raise ParameterError(f"{name}: 'batch' cannot be combined with 'group_by_source'")
        if self._check:
            self._check(name, p)

    def blobs_needed(self, p):
        return self._blobs(p) if self._blobs else 0

    def run(self, txn, name, p):
        return self._run(txn, name, hoist_results(p))


# results.limit / results.sort / results.group_by_source are the spelling of the SDK's query
# builders up to 0.4.x (aperture-data/aperturedb-python v0.4.40 aperturedb/Query.py
# `cmd_params["results"]["limit"|"sort"|"group_by_source"]`, aperturedb/Images.py search()),
# run by the SDK's CI against the real server (test/test_Data.py via Query.spec,
# test/test_torch_connector.py results.limit); 0.5.x sends them at the command level. The
# results block of VDMS, ApertureDB's origin, documents the same "limit" (intellabs.github.io/
# vdms/commands/FindImage). Both spellings mean the same; giving both fails (an assumption:
# no source says which would win).
HOISTED = ("limit", "sort", "group_by_source")
RESULTS_KEYS = {"list": "list", "all_properties": "bool", "count": "bool", "limit": "int",
                "sort": "sort", "group_by_source": "bool"}


def check_results(name, r, params):
    for key, value in r.items():
        t = RESULTS_KEYS.get(key)
        if t is None:
            raise ParameterError(f"{name}: unknown key in 'results': '{key}'")
        if not TYPES[t](value):
            raise ParameterError(f"{name}: 'results.{key}' must be {TYPE_NAMES[t]}")
    if "list" in r and not all(isinstance(x, str) for x in r["list"]):
        raise ParameterError(f"{name}: 'results.list' must be an array of property names")
    for key in HOISTED:
        if key in r and key not in params:
            raise ParameterError(f"{name}: unknown key in 'results': '{key}'")


def hoist_results(p, name="command"):
    """The command with results.limit/sort/group_by_source moved to the command level."""
    r = p.get("results")
    if not r or not any(k in r for k in HOISTED):
        return p
    for key in HOISTED:
        if key in r and key in p:
            raise ParameterError(f"{name}: '{key}' is given both at the command level and in 'results'")
    q = {k: v for k, v in p.items() if k != "results"}
    q["results"] = {k: v for k, v in r.items() if k not in HOISTED}
    q.update({k: r[k] for k in HOISTED if k in r})
    return q


SORT_ORDERS = ("ascending", "descending")


def check_sort(name, sort):
    """A key, {"key", "order"} or a list of those (SDK aperturedb/Sort.py `_sort`)."""
    for s in sort if isinstance(sort, list) else [sort]:
        if isinstance(s, str):
            continue
        if not isinstance(s, dict) or not isinstance(s.get("key"), str):
            raise ParameterError(f"{name}: invalid sort specification {s!r}")
        for k in s:
            if k not in ("key", "order"):
                raise ParameterError(f"{name}: unknown key in 'sort': '{k}'")
        if s.get("order", "ascending") not in SORT_ORDERS:
            raise ParameterError(f"{name}: sort order must be 'ascending' or 'descending'")


CONNECTED_KEYS = ("ref", "connection_class", "direction", "constraints", "any", "all")
DIRECTIONS = ("in", "out", "any")


def check_connected(name, spec):
    """is_connected_to: one {ref, connection_class, direction, constraints} or any/all lists of them."""
    if not isinstance(spec, dict):
        raise ParameterError(f"{name}: invalid is_connected_to entry {spec!r}")
    for k in spec:
        if k not in CONNECTED_KEYS:
            raise ParameterError(f"{name}: unknown key in 'is_connected_to': '{k}'")
    if "any" in spec or "all" in spec:
        for k in ("any", "all"):
            subs = spec.get(k)
            if subs is None:
                continue
            if not isinstance(subs, list) or not subs:
                raise ParameterError(f"{name}: is_connected_to.{k} must be a non-empty array")
            for sub in subs:
                check_connected(name, sub)
        return
    if "ref" not in spec:
        raise ParameterError(f"{name}: is_connected_to needs 'ref'")
    if spec.get("direction", "any") not in DIRECTIONS:
        raise ParameterError(f"{name}: is_connected_to.direction must be one of in, out, any")
    if not isinstance(spec.get("connection_class", ""), str):
        raise ParameterError(f"{name}: is_connected_to.connection_class must be a string")


CONNECT_KEYS = ("ref", "class", "direction", "properties")


def check_connect(name, conn):
    for k in conn:
        if k not in CONNECT_KEYS:
            raise ParameterError(f"{name}: unknown key in 'connect': '{k}'")
    if "ref" not in conn:
        raise ParameterError(f"{name}: connect needs 'ref'")
    if not isinstance(conn.get("class"), str):
        raise ParameterError(f"{name}: connect.class must be a string")
    if conn.get("direction", "out") not in ("in", "out"):
        raise ParameterError(f"{name}: connect.direction must be 'in' or 'out'")


FIND_PARAMS = {"_ref": "int", "constraints": "constraints", "results": "dict", "unique": "bool",
               "sort": "sort", "limit": "int", "offset": "int", "uniqueids": "bool",
               "is_connected_to": "dict", "group_by_source": "bool", "batch": "dict"}
ADD_PARAMS = {"_ref": "int", "properties": "dict", "if_not_found": "constraints", "connect": "dict"}
UPDATE_PARAMS = {"ref": "int", "constraints": "constraints", "properties": "dict",
                 "remove_props": "list"}
DELETE_PARAMS = {"ref": "int", "constraints": "constraints"}
