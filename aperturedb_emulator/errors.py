"""The real server's status codes and the errors the emulator reports.

Status codes follow docs.aperturedata.io "Responses": 0 success, 1 empty,
2 exists, 3 not unique, 4 response too large, negative values are errors.
A failed command aborts the whole transaction; the reply is then one JSON
object (not an array): ``{"status", "info", "FailedCommand"}`` where
FailedCommand is the failing command object as sent, e.g.
``{"FindEntity": {"_ref": ..., ...}}`` (aperturedata.io/docs/Return-Status.html).
"""

STATUS_OK = 0
STATUS_EMPTY = 1
STATUS_EXISTS = 2
STATUS_NOT_UNIQUE = 3
STATUS_TOO_LARGE = 4
STATUS_ERROR = -1

NOT_AUTHENTICATED = "Not Authenticated!"
OBJECT_EXISTS = "Object Exists!"
# AddImage answers its own text (Cookbook notebooks/simple/Regions.ipynb, server 0.17.23).
IMAGE_EXISTS = "Image exists!"
NOT_UNIQUE = "Not Unique!"


class QueryError(Exception):
    """A command (or the whole transaction) failed; nothing is committed."""

    def __init__(self, info, status=STATUS_ERROR):
        super().__init__(info)
        self.info = info
        self.status = status


class ParameterError(QueryError):
    """A command was called with a missing, unknown or ill-typed parameter."""


class ReferenceError_(QueryError):
    """A `_ref` was used before being defined, or defined twice."""


class BlobError(QueryError):
    """Blob count or content does not fit the commands."""


class NotUniqueError(QueryError):
    """unique: true (or a conditional add) matched more than one object: the transaction
    fails with status 3 (aperture-data/aperturedb-python test/test_Server.py
    test_Error_code_3 and PR #419: the reply is a single object, not a list)."""

    def __init__(self, name, n):
        super().__init__(f"{name}: {NOT_UNIQUE} expecting 1 but got {n}", STATUS_NOT_UNIQUE)


def transaction_error(info, command=None, status=STATUS_ERROR):
    """The single top-level object the server answers for a failed transaction.

    `command` is the failing command object as sent ({name: params}); omitted when the
    query could not be parsed into commands."""
    reply = {"status": status, "info": info}
    if command is not None:
        reply["FailedCommand"] = command
    return reply
