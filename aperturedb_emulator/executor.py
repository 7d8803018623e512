"""Parse a query, validate the whole transaction, then run it with rollback.

A query is a JSON array of single-key commands and is one transaction. Before
anything runs, every command is checked (known name, known parameters and their
types, `_ref` defined before use and not twice, enough blobs). Then the commands
run against the store under its lock; any failure undoes every change and the
reply is a single object ``{"status": -1, "info": ..., "FailedCommand": ...}``.
"""
import json

from .commands import COMMANDS
from .errors import QueryError, STATUS_ERROR, transaction_error
from .store import RefSet  # noqa: F401  (re-exported)

REF_PARAMS_TOP = ("image_ref", "video_ref", "ref", "src", "dst")


class Txn:
    def __init__(self, store, blobs, query=()):
        self.store = store
        self.query = query          # the transaction's commands (batch snapshots are keyed by it)
        self.index = 0              # the position of the command running now
        self.blobs_in = blobs
        self.blob_cursor = 0
        self.refs = {}
        self.out_blobs = []

    def next_blob(self, command):
        if self.blob_cursor >= len(self.blobs_in):
            raise QueryError(f"{command}: missing blob (the query has {len(self.blobs_in)} blobs "
                             f"and this command needs blob #{self.blob_cursor})")
        b = self.blobs_in[self.blob_cursor]
        self.blob_cursor += 1
        return b

    def ref(self, value, command, param):
        rs = self.refs.get(value)
        if rs is None:
            raise QueryError(f"{command}: reference {param}={value!r} was not defined by an earlier command")
        return rs

    def bind(self, p, rs):
        if "_ref" in p:
            self.refs[p["_ref"]] = rs


def _used_refs(params):
    for key in REF_PARAMS_TOP:
        if key in params:
            yield key, params[key]
    ict = params.get("is_connected_to")
    if isinstance(ict, dict):
        specs = [ict] + [s for k in ("any", "all") for s in (ict.get(k) or []) if isinstance(s, dict)]
        for s in specs:
            if "ref" in s:
                yield "is_connected_to.ref", s["ref"]
    conn = params.get("connect")
    if isinstance(conn, dict) and "ref" in conn:
        yield "connect.ref", conn["ref"]


def validate(query, nblobs):
    """Raise QueryError (with .command, the failing command object) for the first invalid command."""
    if not isinstance(query, list):
        raise QueryError("The query must be a JSON array of commands")
    if not query:
        raise QueryError("The query is empty")
    defined = set()
    blobs_needed = 0
    for i, cmd in enumerate(query):
        name = None
        try:
            if isinstance(cmd, list):
                # No source shows what the real server does with a nested array
                # ([[commands], []]); the emulator does not guess (docs/emulator-evidence.md).
                raise QueryError(f"Command #{i} is an array: each command must be a single-key object "
                                 "{\"CommandName\": {parameters}}; nested command arrays are not supported")
            if not isinstance(cmd, dict) or len(cmd) != 1:
                raise QueryError(f"Command #{i} must be a single-key object {{\"CommandName\": {{parameters}}}}")
            (name, params), = cmd.items()
            spec = COMMANDS.get(name)
            if spec is None:
                raise QueryError(f"Unknown command: {name}")
            if not isinstance(params, dict):
                raise QueryError(f"{name}: parameters must be an object")
            spec.validate(name, params)
            for param, value in _used_refs(params):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise QueryError(f"{name}: {param} must be an integer reference")
                if value not in defined:
                    raise QueryError(f"{name}: reference {param}={value} was not defined by an earlier command")
            if "_ref" in params:
                r = params["_ref"]
                if isinstance(r, bool) or not isinstance(r, int) or r < 1:
                    raise QueryError(f"{name}: _ref must be a positive integer")
                if r in defined:
                    raise QueryError(f"{name}: _ref {r} is already defined in this transaction")
                defined.add(r)
            blobs_needed += spec.blobs_needed(params)
        except QueryError as e:
            e.command = cmd if isinstance(cmd, dict) else None
            raise
    if blobs_needed != nblobs:
        raise QueryError(f"The query needs {blobs_needed} blobs but {nblobs} were sent")


def parse(query_json):
    """JSON text -> query, or raise QueryError."""
    try:
        return json.loads(query_json)
    except (ValueError, TypeError) as e:
        raise QueryError(f"Invalid JSON in query: {e}")


def execute(store, query, blobs):
    """Run one (parsed) transaction. Returns (reply JSON-able, list of blobs)."""
    try:
        validate(query, len(blobs))
    except QueryError as e:
        return transaction_error(e.info, getattr(e, "command", None), e.status), []
    with store.lock:
        store.begin()
        txn = Txn(store, blobs, query)
        responses = []
        for i, cmd in enumerate(query):
            (name, params), = cmd.items()
            txn.index = i
            try:
                resp = COMMANDS[name].run(txn, name, params)
            except QueryError as e:
                store.rollback()
                return transaction_error(e.info, cmd, e.status), []
            except Exception as e:  # a bug must not kill the connection
                store.rollback()
                return transaction_error(f"Internal error in {name}: {type(e).__name__}: {e}", cmd,
                                         STATUS_ERROR), []
            responses.append({name: resp})
        store.commit()
        return responses, txn.out_blobs
