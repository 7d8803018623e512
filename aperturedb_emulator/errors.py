"""The real server's status codes and the errors the emulator reports.

Status codes follow docs.aperturedata.io "Responses": 0 success, 1 empty,
2 exists, 3 not unique, 4 response too large, negative values are errors.
A failed command aborts the whole transaction; the reply is then one JSON
object (not an array) naming the failed command.
"""

STATUS_OK = 0
STATUS_EMPTY = 1
STATUS_EXISTS = 2
STATUS_NOT_UNIQUE = 3
STATUS_TOO_LARGE = 4
STATUS_ERROR = -1

NOT_AUTHENTICATED = "Not Authenticated!"
OBJECT_EXISTS = "Object Exists!"
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


def transaction_error(info, command_index=None, command_name=None, status=STATUS_ERROR):
    """The single top-level object the server answers for a failed transaction."""
    reply = {"status": status, "info": info}
    if command_name is not None:
        reply["FailedCommand"] = command_name
        reply["FailedCommandIndex"] = command_index
    return reply
