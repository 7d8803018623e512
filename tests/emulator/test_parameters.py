"""Every command takes an explicit set of parameters, top level and nested; anything else fails
the transaction with the real server's single-object error reply naming the parameter
({"status": -1, "info": ..., "FailedCommand": <the command as sent>}; aperturedata.io/docs/
Return-Status.html). Nothing is accepted and ignored."""
import pytest

from .helpers import jpeg

COMMANDS = ["AddImage", "FindImage", "UpdateImage", "DeleteImage", "AddBoundingBox",
            "FindBoundingBox", "UpdateBoundingBox", "DeleteBoundingBox", "AddPolygon", "FindPolygon",
            "UpdatePolygon", "DeletePolygon", "AddEntity", "FindEntity", "UpdateEntity", "DeleteEntity",
            "AddConnection", "FindConnection", "UpdateConnection", "DeleteConnection", "AddBlob",
            "FindBlob", "UpdateBlob", "DeleteBlob", "GetStatus", "GetSchema", "CreateIndex",
            "RemoveIndex", "GetIndexes"]


def failed(client, query, blobs=()):
    r, _ = client.query(query, list(blobs))
    assert isinstance(r, dict) and r["status"] == -1 and set(r) == {"status", "info", "FailedCommand"}, r
    return r


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_top_level_parameter_fails_by_name(client, command):
    cmd = {command: {"frobnicate": 1}}
    r = failed(client, [cmd])
    assert "'frobnicate'" in r["info"] and r["FailedCommand"] == cmd


@pytest.mark.parametrize("params,fragment", [
    ({"operations": [{"type": "resize", "width": 4, "interpolation": "nearest"}]}, "'interpolation'"),
    ({"operations": [{"type": "blur", "value": 3}]}, "'blur'"),
    ({"operations": [{"width": 4}]}, "'type'"),
    ({"as_format": "heic"}, "as_format"),
    ({"is_connected_to": {"ref": 1, "connection": "x"}}, "'connection'"),
    ({"is_connected_to": {"ref": 1, "direction": "both"}}, "direction"),
    ({"is_connected_to": {"all": []}}, "is_connected_to.all"),
    ({"is_connected_to": {"any": [{"ref": 1, "kind": "x"}]}}, "'kind'"),
])
def test_nested_find_parameters_are_checked(client, tag, params, fragment):
    cmd = {"FindImage": {**params}}
    r = failed(client, [{"FindEntity": {"_ref": 1, "with_class": tag}}, cmd])
    assert fragment in r["info"] and r["FailedCommand"] == cmd


@pytest.mark.parametrize("connect,fragment", [
    ({"ref": 1, "class": "c", "weight": 2}, "'weight'"),
    ({"ref": 1}, "connect.class"),
    ({"class": "c"}, "'ref'"),
    ({"ref": 1, "class": "c", "direction": "any"}, "connect.direction"),
])
def test_connect_block_is_checked(client, connect, fragment):
    cmd = {"AddEntity": {"class": "B", "connect": connect}}
    r = failed(client, [{"AddEntity": {"_ref": 1, "class": "A"}}, cmd])
    assert fragment in r["info"] and r["FailedCommand"] == cmd
    r, _ = client.query([{"FindEntity": {"with_class": "A", "results": {"count": True}}}])
    assert r[0]["FindEntity"]["count"] == 0  # the whole transaction was rolled back


def test_update_image_operations_and_add_format_are_checked(client, tag):
    failed(client, [{"AddImage": {"format": "heic"}}], [jpeg()])
    client.query([{"AddImage": {"properties": {"tag": tag}}}], [jpeg()])
    r = failed(client, [{"UpdateImage": {"constraints": {"tag": ["==", tag]},
                                         "operations": [{"type": "crop", "x": 0, "y": 0, "w": 2}]}}])
    assert "'w'" in r["info"]


def test_group_by_source_is_not_taken_by_find_connection(client):
    r = failed(client, [{"FindConnection": {"results": {"group_by_source": True}}}])
    assert "'group_by_source'" in r["info"]


@pytest.mark.parametrize("command,params", [
    ("Authenticate", {"username": "admin", "password": "admin", "otp": "123"}),
    ("RefreshToken", {"refresh_token": "adbr_x", "otp": "123"}),
])
def test_auth_commands_take_only_their_parameters(client, command, params):
    """Authenticate takes username/password or token, RefreshToken a refresh_token (what the SDK's
    Connector._authenticate / _refresh_token send); anything else is named in the error."""
    r, _ = client.query([{command: params}])
    assert r[0][command]["status"] == -1 and "'otp'" in r[0][command]["info"]
