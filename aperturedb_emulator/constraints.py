"""Property values and constraint evaluation (pure functions, no store access).

Two constraint spellings are accepted, as the server does:

* the documented object form ``{"age": [">=", 20, "<", 90], "name": ["==", "x"]}``
  (all keys AND-ed, each list a sequence of ``op, value`` pairs AND-ed), with
  nested ``{"any": {...}}`` / ``{"all": {...}}`` groups;
* the expression-array form the SDK's ``aperturedb.Constraints`` emits:
  ``["$age", ">=", 20]``, ``["all", e1, e2, ...]``, ``["any", ...]``,
  ``["not", e]``, literals ``{"to_date": s}``, ``{"array": [...]}``,
  ``{"json": v}``, and ``"$$x"`` for the string ``"$x"``.

Missing properties never match (not even ``!=``). Values of different types
never compare equal. Dates are ``{"_date": "ISO 8601"}``.
"""
from datetime import datetime, timezone

from .errors import ParameterError

MISSING = object()
OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
UNIQUEID_OPERATORS = ("==", "!=", "in", "not in")


# ---------------------------------------------------------------- values
def parse_date(text):
    if not isinstance(text, str):
        raise ParameterError(f"Invalid date: {text!r}")
    s = text.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        raise ParameterError(f"Invalid date format: {text!r}")
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d


def parse_value(value, key="property"):
    """JSON property value -> stored Python value."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict) and len(value) == 1 and "_date" in value:
        return parse_date(value["_date"])
    raise ParameterError(
        f"Invalid value for property '{key}': only numbers, strings, booleans and "
        f"{{\"_date\": ...}} are supported, got {type(value).__name__}")


def parse_properties(props, where="properties"):
    if not isinstance(props, dict):
        raise ParameterError(f"'{where}' must be an object")
    out = {}
    for k, v in props.items():
        if not isinstance(k, str) or not k:
            raise ParameterError(f"Invalid property name {k!r}")
        if k == "_uniqueid":
            raise ParameterError("Property '_uniqueid' is reserved")
        out[k] = parse_value(v, k)
    return out


def dump_value(value):
    if isinstance(value, datetime):
        return {"_date": value.isoformat()}
    return value


def kind(value):
    if isinstance(value, bool):
        return "b"
    if isinstance(value, (int, float)):
        return "n"
    if isinstance(value, str):
        return "s"
    if isinstance(value, datetime):
        return "d"
    return None


def index_key(value):
    """Hashable key under which equal values meet (1 == 1.0, True != 1)."""
    return (kind(value), value)


def type_name(value):
    return {"b": "Boolean", "n": "Number", "s": "String", "d": "DateTime"}.get(kind(value), "JSON")


def compare(a, op, b):
    if a is MISSING:
        return False
    if op == "in":
        return any(compare(a, "==", x) for x in b)
    if op == "not in":
        return not any(compare(a, "==", x) for x in b)
    ka, kb = kind(a), kind(b)
    if ka != kb:
        return op == "!="
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    raise ParameterError(f"Unknown constraint operator: {op!r}")


# ---------------------------------------------------------------- compile
class Compiled:
    """A compiled constraint: ``match(getter)`` and equality hints for indexes."""

    __slots__ = ("match", "hints")

    def __init__(self, match, hints):
        self.match = match          # callable(getter) -> bool
        self.hints = hints          # [(key, [values])] ANDed equality/in hints


def _membership(key, op, values):
    """``compare(get(key), op, values)`` for in / not in as one set lookup (equal index_keys are what
    compare's "==" accepts): a sync's ``_uniqueid in [1000 ids]`` would otherwise cost a million
    comparisons per query. Unhashable values fall back to compare."""
    try:
        keys = {index_key(v) for v in values}
    except TypeError:
        return lambda get: compare(get(key), op, values)
    inside = op == "in"

    def match(get):
        a = get(key)
        if a is MISSING:
            return False
        try:
            return (index_key(a) in keys) == inside
        except TypeError:
            return compare(a, op, values)
    return match


def _cmp_pred(key, op, value, ref_key=None):
    if op not in OPERATORS:
        raise ParameterError(f"Unknown constraint operator: {op!r}")
    if key == "_uniqueid" and op not in UNIQUEID_OPERATORS:
        raise ParameterError(
            f"Constraint operator '{op}' is not supported for _uniqueid (use ==, !=, in, not in)")
    if op in ("in", "not in"):
        if not isinstance(value, list):
            raise ParameterError(f"Operator '{op}' on '{key}' needs an array of values")
        values = [_parse_literal_value(v, key) for v in value]
        return _membership(key, op, values), values
    if ref_key is not None:
        return (lambda get: (lambda other: other is not MISSING and compare(get(key), op, other))(get(ref_key))), None
    v = _parse_literal_value(value, key)
    return lambda get: compare(get(key), op, v), v


def _parse_literal_value(value, key):
    if isinstance(value, list):
        raise ParameterError(f"Invalid constraint value for '{key}': unexpected array")
    return parse_value(value, key)


def _compile_object(constraints, conj="all"):
    preds, hints = [], []
    for key, spec in constraints.items():
        if key in ("all", "any") and isinstance(spec, dict):
            sub = _compile_object(spec, key)
            preds.append(sub.match)
            if key == "all":
                hints.extend(sub.hints)
            continue
        if not isinstance(spec, list) or len(spec) < 2 or len(spec) % 2:
            raise ParameterError(
                f"Invalid constraint for '{key}': expected [op, value, ...], got {spec!r}")
        for i in range(0, len(spec), 2):
            op, val = spec[i], spec[i + 1]
            if not isinstance(op, str):
                raise ParameterError(f"Invalid constraint operator for '{key}': {op!r}")
            p, v = _cmp_pred(key, op, val)
            preds.append(p)
            if op == "==":
                hints.append((key, [v]))
            elif op == "in":
                hints.append((key, v))
    if conj == "any":
        return Compiled(lambda get: any(p(get) for p in preds), [])
    if len(preds) == 1:
        return Compiled(preds[0], hints)
    return Compiled(lambda get: all(p(get) for p in preds), hints)


def _literal(value):
    """Expression literal -> (is_property_ref, payload)."""
    if isinstance(value, str) and value.startswith("$"):
        if value.startswith("$$"):
            return False, value[1:]
        return True, value[1:]
    if isinstance(value, dict) and len(value) == 1:
        (k, v), = value.items()
        if k == "to_date":
            ref, inner = _literal(v)
            if ref:
                raise ParameterError("to_date of a property reference is not supported")
            return False, {"_date": inner}
        if k == "array":
            if not isinstance(v, list):
                raise ParameterError("'array' needs a list")
            out = []
            for x in v:
                ref, inner = _literal(x)
                if ref:
                    raise ParameterError("property references inside arrays are not supported")
                out.append(inner)
            return False, out
        if k == "json":
            return False, v
        if k == "_date":
            return False, value
    return False, value


def _compile_expr(expr):
    if not isinstance(expr, list) or not expr:
        raise ParameterError(f"Invalid constraint expression: {expr!r}")
    head = expr[0]
    if head in ("all", "any"):
        subs = [_compile_expr(e) for e in expr[1:]]
        preds = [s.match for s in subs]
        if head == "all":
            hints = [h for s in subs for h in s.hints]
            return Compiled(lambda get: all(p(get) for p in preds), hints)
        return Compiled(lambda get: any(p(get) for p in preds), [])
    if head == "not":
        if len(expr) != 2:
            raise ParameterError("'not' takes exactly one expression")
        sub = _compile_expr(expr[1])
        return Compiled(lambda get: not sub.match(get), [])
    if len(expr) != 3 or not isinstance(head, str) or not head.startswith("$") or head.startswith("$$"):
        raise ParameterError(
            f"Invalid constraint expression {expr!r}: expected [\"$property\", op, value]")
    key, op = head[1:], expr[1]
    if not isinstance(op, str):
        raise ParameterError(f"Invalid constraint operator: {op!r}")
    is_ref, val = _literal(expr[2])
    if is_ref:
        p, _ = _cmp_pred(key, op, None, ref_key=val)
        return Compiled(p, [])
    p, v = _cmp_pred(key, op, val)
    hints = [(key, [v])] if op == "==" else [(key, v)] if op == "in" else []
    return Compiled(p, hints)


def compile_constraints(constraints):
    """Compile either constraint spelling; None means 'match everything'."""
    if constraints is None:
        return None
    if isinstance(constraints, dict):
        if not constraints:
            return None
        return _compile_object(constraints)
    if isinstance(constraints, list):
        return _compile_expr(constraints)
    raise ParameterError("'constraints' must be an object or an expression array")
