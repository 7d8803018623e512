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
    """The SDK's PyTorchDataset flow on FindImage: "batch": {} with blobs false and results.limit
    (aperturedb/PyTorchDataset.py; results.limit as in aperture-data/aperturedb-python
    test/test_torch_connector.py::test_datasetWithMultiprocessing), then batches with blobs: true
    from the same result set -- an image added in between (sorting first) does not shift them."""
    client.query([{"AddImage": {"properties": {"tag": tag, "license": i}}} for i in range(5)],
                 [jpeg(20 + i, 10) for i in range(5)])
    query = [{"FindImage": {"constraints": {"tag": ["==", tag]}, "sort": "license",
                            "results": {"list": ["license"], "limit": 4}, "batch": {}, "blobs": False}}]
    _, r, blobs = execute_query(client, query, [])
    assert r[0]["FindImage"]["batch"]["total_elements"] == 4 and blobs == []
    client.query([{"AddImage": {"properties": {"tag": tag, "license": -1}}}], [jpeg()])
    query[0]["FindImage"].update(blobs=True, batch={"batch_size": 3, "batch_id": 1})
    _, r, blobs = execute_query(client, query, [])
    assert [e["license"] for e in r[0]["FindImage"]["entities"]] == [3] and len(blobs) == 1
    assert r[0]["FindImage"]["entities"][0]["_blob_index"] == 0


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


# ----------------------------------------------------------------- results.limit / results.sort
def test_results_limit_and_sort_are_honoured(client, tag):
    """FindImage {"results": {"list": [...], "limit": 3, "sort": ...}} -- the spelling of the SDK's
    builders up to 0.4.x (aperturedb-python v0.4.40 aperturedb/Images.py search(),
    aperturedb/Query.py) -- limits and sorts exactly like the command-level form."""
    client.query([{"AddImage": {"properties": {"tag": tag, "n": n}}} for n in (4, 1, 3, 0, 2)],
                 [jpeg() for _ in range(5)])
    base = {"constraints": {"tag": ["==", tag]}}
    r, _ = client.query([
        {"FindImage": {**base, "results": {"list": ["n"], "limit": 3,
                                           "sort": {"key": "n", "order": "descending"}}}},
        {"FindImage": {**base, "results": {"list": ["n"]}, "limit": 3,
                       "sort": {"key": "n", "order": "descending"}}},
        {"FindImage": {**base, "results": {"list": ["n"], "sort": "n", "count": True}, "offset": 1}},
    ])
    assert [e["n"] for e in r[0]["FindImage"]["entities"]] == [4, 3, 2] == \
        [e["n"] for e in r[1]["FindImage"]["entities"]]
    assert r[0]["FindImage"]["returned"] == 3
    assert [e["n"] for e in r[2]["FindImage"]["entities"]] == [1, 2, 3, 4]
    assert r[2]["FindImage"]["count"] == 5


def test_query_builder_04x_group_by_source_in_results(client, tag):
    """aperturedb-python v0.4.40 aperturedb/Query.py puts group_by_source in "results" next to
    all_properties/limit/sort (run by the SDK's CI through Query.spec, test/test_Data.py)."""
    r, _ = client.query([
        {"AddImage": {"_ref": 1, "properties": {"tag": tag}}},
        {"AddBoundingBox": {"image_ref": 1, "label": "a", "properties": {"i": 1},
                            "rectangle": {"x": 0, "y": 0, "width": 2, "height": 2}}},
        {"AddBoundingBox": {"image_ref": 1, "label": "b", "properties": {"i": 2},
                            "rectangle": {"x": 0, "y": 0, "width": 2, "height": 2}}}], [jpeg()])
    r, _ = client.query([
        {"FindImage": {"_ref": 1, "constraints": {"tag": ["==", tag]},
                       "results": {"list": ["_uniqueid"], "group_by_source": False}}},
        {"FindBoundingBox": {"is_connected_to": {"ref": 1},
                             "results": {"all_properties": True, "group_by_source": True, "limit": 1,
                                         "sort": {"key": "i", "order": "descending"}}}}])
    uid = r[0]["FindImage"]["entities"][0]["_uniqueid"]
    groups = r[1]["FindBoundingBox"]["entities"]
    assert list(groups) == [uid] and [e["i"] for e in groups[uid]] == [2]


@pytest.mark.parametrize("params,fragment", [
    ({"results": {"limit": 1}, "limit": 2}, "'limit' is given both"),
    ({"results": {"sort": "n"}, "sort": "n"}, "'sort' is given both"),
    ({"results": {"limit": "1"}}, "'results.limit'"),
    ({"results": {"sort": {"key": "n", "order": "up"}}}, "sort order"),
    ({"results": {"sum": ["n"]}}, "'sum'"),
    ({"results": {"group": ["n"]}}, "'group'"),
    ({"sort": {"key": "n", "direction": "descending"}}, "unknown key in 'sort': 'direction'"),
])
def test_results_block_is_checked(client, params, fragment):
    cmd = {"FindEntity": {"with_class": "P", **params}}
    r, _ = client.query([cmd])
    assert isinstance(r, dict) and r["status"] == -1 and fragment in r["info"], r
    assert r["FailedCommand"] == cmd
