"""The documented behaviour the export's fence (ls_aperturedb.target.mapping.fence) is built on, through the SDK.

- docs.aperturedata.io query_language/Reference/shared_command_parameters/if_not_found: a conditional
  add inserts "if and only if there is no other element of the same type that fulfills the specified
  constraints"; ">=" and "<" are among the operators.
- aperturedata.io/docs/Return-Status.html: a conditional add that finds several objects is an error
  ("If not unique, an error(-1) is returned"); there and in docs.aperturedata.io query_language/Overview/
  Responses: "if there is a local id provided in such a call, we treat it as an exception which causes
  the rest of the transaction to abort ... it undoes all the metadata changes".
"""
from ls_aperturedb.target.mapping import DELETED_VERSION, FENCE_CLASS, IDENTITY, VERSION, fence, refs


def _fences(client, uid):
    r, _ = client.query([{"FindEntity": {"with_class": FENCE_CLASS, "constraints": {IDENTITY: ["==", uid]},
                                         "results": {"list": [VERSION]}}}])
    return sorted(e[VERSION] for e in r[0]["FindEntity"].get("entities") or [])


def _write(client, uid, version, marker):
    """A fenced write: the fence, then an entity standing for the annotation's other commands."""
    query = [*fence(uid, version, refs()), {"AddEntity": {"class": "FencedWrite", "properties": {"marker": marker}}}]
    r, _ = client.query(query)
    return r


def _written(client, marker):
    r, _ = client.query([{"FindEntity": {"with_class": "FencedWrite", "constraints": {"marker": ["==", marker]},
                                         "results": {"count": True}}}])
    return r[0]["FindEntity"]["count"]


def test_newer_version_is_written_and_replaces_the_fence(client, tag):
    assert isinstance(_write(client, tag, 100, f"{tag}-a"), list)
    assert isinstance(_write(client, tag, 200, f"{tag}-b"), list)
    assert _fences(client, tag) == [200, 200]
    assert (_written(client, f"{tag}-a"), _written(client, f"{tag}-b")) == (1, 1)


def test_older_or_same_version_aborts_the_whole_transaction(client, tag):
    _write(client, tag, 200, f"{tag}-new")
    for version in (100, 200):
        r = _write(client, tag, version, f"{tag}-late-{version}")
        assert isinstance(r, dict) and r["status"] != 0, r  # one object: the transaction failed
        assert _written(client, f"{tag}-late-{version}") == 0  # and nothing of it was kept
    assert _fences(client, tag) == [200, 200]


def test_a_tombstone_fences_every_later_write(client, tag):
    tombstone = {"AddEntity": {"class": FENCE_CLASS, "properties": {IDENTITY: tag, VERSION: DELETED_VERSION}}}
    client.query([{"DeleteEntity": {"with_class": FENCE_CLASS, "constraints": {IDENTITY: ["==", tag]}}},
                  tombstone, tombstone])
    r = _write(client, tag, 10 ** 15, f"{tag}-resurrect")
    assert isinstance(r, dict) and r["status"] != 0, r
    assert _written(client, f"{tag}-resurrect") == 0
