"""Paged reads through the SDK: the `batch` parameter of Find commands and the `results`
block's `limit`/`sort` (the form the SDK's query builders up to 0.4.x send).

Sources are cited per test; aperturedb_emulator/commands/batch.py lists the batch shapes.
"""
import pytest
from aperturedb.CommonLibrary import execute_query

from .conftest import emulator_only
from .helpers import jpeg


def add_people(client, tag, names):
    r, _ = client.query([{"AddEntity": {"class": "P", "properties": {"tag": tag, "name": n}}}
                         for n in names])
    assert isinstance(r, list), r


def batch_read(client, tag, batch, **extra):
    return client.query([{"FindEntity": {"with_class": "P", "constraints": {"tag": ["==", tag]},
                                         "results": {"list": ["name"]}, "sort": "name",
                                         "batch": batch, **extra}}])[0][0]["FindEntity"]


def names(reply):
    return [e["name"] for e in reply.get("entities", [])]


def test_batch_reads_total_then_numbered_batches(client, tag):
    """The SDK's PyTorchDataset sends "batch": {} and reads reply["batch"]["total_elements"],
    then {"batch_size": n, "batch_id": k} per batch (aperturedb/PyTorchDataset.py); the reply's
    "batch" carries batch_id, total_elements and end, and a reader stops at end >=
    total_elements (aperture-data/workflows apps/sql-server/fdw/fdw/__init__.py)."""
    add_people(client, tag, "gfedcba")
    first = batch_read(client, tag, {})
    assert first["batch"]["total_elements"] == 7
    got = []
    for k in range(3):
        reply = batch_read(client, tag, {"batch_size": 3, "batch_id": k})
        assert reply["batch"] == {"batch_id": k, "total_elements": 7, "end": min(3 * k + 3, 7)}
        assert reply["returned"] == len(reply["entities"])
        got += names(reply)
    assert got == list("abcdefg")
    beyond = batch_read(client, tag, {"batch_size": 3, "batch_id": 3})
    assert beyond["returned"] == 0 and beyond["batch"]["end"] == 7


def test_batches_page_one_snapshot(client, tag):
    """Later batches come from the result set of the first request (batch_id 0): objects added
    meanwhile do not shift the pages, deleted ones drop out of their batch only. A new
    batch_id 0 reads afresh. (aperturedb_emulator/commands/batch.py: snapshot semantics.)"""
    add_people(client, tag, "bdfh")
    assert names(batch_read(client, tag, {"batch_size": 2, "batch_id": 0})) == ["b", "d"]
    add_people(client, tag, "ac")
    client.query([{"DeleteEntity": {"with_class": "P", "constraints": {"tag": ["==", tag],
                                                                      "name": ["==", "h"]}}}])
    second = batch_read(client, tag, {"batch_size": 2, "batch_id": 1})
    assert names(second) == ["f"] and second["batch"]["total_elements"] == 4
    fresh = batch_read(client, tag, {"batch_size": 2, "batch_id": 0})
    assert names(fresh) == ["a", "b"] and fresh["batch"]["total_elements"] == 5


def test_batch_of_images_with_blobs_and_limit(client, tag):
    """The SDK's PyTorchDataset flow on FindImage: "batch": {} with results.limit (aperture-data/
    aperturedb-python test/test_torch_connector.py::test_datasetWithMultiprocessing), then
    batches with blobs: true; each batch's blobs are that batch's images."""
    client.query([{"AddImage": {"properties": {"tag": tag, "license": i}}} for i in range(5)],
                 [jpeg(20 + i, 10) for i in range(5)])
    query = [{"FindImage": {"constraints": {"tag": ["==", tag]}, "sort": "license",
                            "results": {"list": ["license"]}, "limit": 4, "batch": {}, "blobs": False}}]
    _, r, _ = execute_query(client, query, [])
    assert r[0]["FindImage"]["batch"]["total_elements"] == 4
    query[0]["FindImage"].update(blobs=True, batch={"batch_size": 3, "batch_id": 1})
    _, r, blobs = execute_query(client, query, [])
    assert [e["license"] for e in r[0]["FindImage"]["entities"]] == [3] and len(blobs) == 1


@pytest.mark.parametrize("params,fragment", [
    ({"batch": {"batch_id": -1}}, "batch.batch_id"),
    ({"batch": {"batch_size": 0}}, "batch.batch_size"),
    ({"batch": {"batch_size": "3"}}, "batch.batch_size"),
    ({"batch": {"size": 3}}, "'size'"),
    ({"batch": []}, "'batch'"),
    ({"batch": {}, "group_by_source": True}, "group_by_source"),
])
def test_malformed_batch_fails_by_name(client, params, fragment):
    cmd = {"FindEntity": {"with_class": "P", **params}}
    r, _ = client.query([cmd])
    assert isinstance(r, dict) and r["status"] == -1 and fragment in r["info"], r
    assert r["FailedCommand"] == cmd


def test_find_connection_takes_no_batch(client):
    """ApertureData's SQL wrapper notes FindConnection "might not handle batching"
    (aperture-data/workflows apps/sql-server/fdw/fdw/__init__.py): rejected by name."""
    r, _ = client.query([{"FindConnection": {"batch": {}}}])
    assert isinstance(r, dict) and "'batch'" in r["info"]


@emulator_only
def test_snapshots_are_bounded(emulator, client, tag):
    from aperturedb_emulator.commands.batch import SNAPSHOTS
    add_people(client, tag, "ab")
    for i in range(SNAPSHOTS + 5):
        batch_read(client, tag, {"batch_size": 1}, limit=i + 1)
    assert len(emulator.store.batches) == SNAPSHOTS
