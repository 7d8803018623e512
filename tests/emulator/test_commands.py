"""Query-language conformance through the SDK Connector.

Response shapes follow docs.aperturedata.io (query_language/Reference: AddImage,
FindImage, AddBoundingBox, FindBoundingBox, AddPolygon, FindPolygon, AddEntity,
FindEntity, AddConnection, FindConnection, Update*/Delete*; Overview/Responses)
and the responses recorded in aperture-data/Cookbook notebooks/simple/*.ipynb
(e.g. "Find*": {"status": 0, "returned": N, "entities": [...]},
"Add*": {"status": 0}, conditional add {"status": 2, "info": "Object Exists!"}).
"""
import pytest

from .helpers import jpeg, png, size_of


def q(client, query, blobs=()):
    r, b = client.query(query, list(blobs))
    return r, b


def add_images(client, tag, n=3):
    query, blobs = [], []
    for i in range(n):
        query.append({"AddImage": {"properties": {"tag": tag, "index": i, "name": f"img{i}"}}})
        blobs.append(jpeg(40 + i, 30 + i))
    r, _ = q(client, query, blobs)
    assert all(x["AddImage"]["status"] == 0 for x in r), r


# ----------------------------------------------------------------- images
def test_add_find_image_with_properties(client, tag):
    """Find* reply: {"status": 0, "returned": N, "entities": [...]} (Cookbook ingestion notebooks)."""
    add_images(client, tag)
    r, blobs = q(client, [{"FindImage": {"constraints": {"tag": ["==", tag]},
                                         "results": {"list": ["index", "name", "_uniqueid"]},
                                         "sort": "index"}}])
    f = r[0]["FindImage"]
    assert f["status"] == 0 and f["returned"] == 3 and blobs == []
    assert [e["index"] for e in f["entities"]] == [0, 1, 2]
    assert all(isinstance(e["_uniqueid"], str) for e in f["entities"])


def test_entities_only_when_asked(client, tag):
    """"returned" counts entities/blobs returned, 0 when nothing is returned
    (https://docs.aperturedata.io/query_language/Overview/Responses, Field Descriptions)."""
    add_images(client, tag, 2)
    r, _ = q(client, [{"FindImage": {"_ref": 1, "constraints": {"tag": ["==", tag]}}}])
    assert r[0]["FindImage"] == {"status": 0, "returned": 0}
    r, _ = q(client, [{"FindImage": {"constraints": {"tag": ["==", tag]}, "uniqueids": True}}])
    assert set(r[0]["FindImage"]["entities"][0]) == {"_uniqueid"} and r[0]["FindImage"]["returned"] == 2
    r, _ = q(client, [{"FindImage": {"constraints": {"tag": ["==", tag]}, "results": {"count": True}}}])
    assert r[0]["FindImage"] == {"status": 0, "returned": 0, "count": 2}


def test_find_image_blobs_resize_and_format(client, tag):
    add_images(client, tag, 2)
    r, blobs = q(client, [{"FindImage": {"constraints": {"tag": ["==", tag]}, "blobs": True,
                                         "results": {"list": ["index"]}, "sort": "index",
                                         "operations": [{"type": "resize", "width": 10, "height": 8}],
                                         "as_format": "png"}}])
    f = r[0]["FindImage"]
    assert len(blobs) == 2 and [e["_blob_index"] for e in f["entities"]] == [0, 1]
    assert all(size_of(b) == (10, 8) for b in blobs) and blobs[0][:4] == b"\x89PNG"


def test_find_image_crop_rotate_and_original_bytes(client, tag):
    original = png(32, 16)
    q(client, [{"AddImage": {"properties": {"tag": tag}}}], [original])
    _, blobs = q(client, [{"FindImage": {"constraints": {"tag": ["==", tag]}, "blobs": True}}])
    assert blobs == [original]
    _, blobs = q(client, [{"FindImage": {"constraints": {"tag": ["==", tag]}, "blobs": True,
                                         "operations": [{"type": "crop", "x": 0, "y": 0, "width": 8, "height": 4},
                                                        {"type": "rotate", "angle": 90, "resize": True}]}}])
    assert size_of(blobs[0]) == (4, 8)


def test_update_and_delete_image(client, tag):
    """Update*/Delete* reply {"status": 0, "count": n}; remove_props removes keys."""
    add_images(client, tag)
    r, _ = q(client, [{"UpdateImage": {"constraints": {"tag": ["==", tag], "index": [">=", 1]},
                                       "properties": {"seen": True}, "remove_props": ["name"]}}])
    assert r[0]["UpdateImage"] == {"status": 0, "count": 2}
    r, _ = q(client, [{"FindImage": {"constraints": {"tag": ["==", tag], "seen": ["==", True]},
                                     "results": {"all_properties": True}}}])
    ents = r[0]["FindImage"]["entities"]
    assert len(ents) == 2 and all("name" not in e for e in ents)
    r, _ = q(client, [{"DeleteImage": {"constraints": {"tag": ["==", tag]}}}])
    assert r[0]["DeleteImage"] == {"status": 0, "count": 3}


# ----------------------------------------------------------------- constraints
@pytest.mark.parametrize("constraint,expected", [
    (["==", 2], [2]), (["!=", 2], [0, 1, 3, 4]), (["<", 2], [0, 1]), (["<=", 2], [0, 1, 2]),
    ([">", 2], [3, 4]), ([">=", 2], [2, 3, 4]), (["in", [1, 3, 9]], [1, 3]),
    (["not in", [1, 3]], [0, 2, 4]), ([">=", 1, "<", 3], [1, 2]),
])
def test_constraint_operators(client, tag, constraint, expected):
    q(client, [{"AddEntity": {"class": "Num", "properties": {"tag": tag, "n": i}}} for i in range(5)])
    r, _ = q(client, [{"FindEntity": {"with_class": "Num", "constraints": {"tag": ["==", tag], "n": constraint},
                                      "results": {"list": ["n"]}, "sort": "n"}}])
    assert [e["n"] for e in r[0]["FindEntity"].get("entities", [])] == expected


def test_expression_constraints_from_sdk_helpers(client, tag):
    """aperturedb.Constraints / to_expression emit ["all", ["$n", ">", 1], ...] arrays."""
    from aperturedb.Constraints import Constraints, Conjunction, to_expression
    q(client, [{"AddEntity": {"class": "Num", "properties": {"tag": tag, "n": i}}} for i in range(5)])
    expr = to_expression({"tag": ["==", tag], "n": [">", 1, "<=", 3]})
    r, _ = q(client, [{"FindEntity": {"with_class": "Num", "constraints": expr, "results": {"list": ["n"]},
                                      "sort": "n"}}])
    assert [e["n"] for e in r[0]["FindEntity"]["entities"]] == [2, 3]
    c = Constraints(Conjunction.OR).equal("n", 0).equal("n", 4)
    r, _ = q(client, [{"FindEntity": {"with_class": "Num", "constraints": ["all", ["$tag", "==", tag], c.constraints],
                                      "results": {"list": ["n"]}, "sort": "n"}}])
    assert [e["n"] for e in r[0]["FindEntity"]["entities"]] == [0, 4]


def test_dates_and_uniqueid_constraints(client, tag):
    """Dates: {"_date": ISO}; _uniqueid supports ==, in, not in."""
    q(client, [{"AddEntity": {"class": "Ev", "properties": {"tag": tag, "i": i,
                                                            "at": {"_date": f"2024-01-0{i + 1}T10:00:00+00:00"}}}}
               for i in range(3)])
    r, _ = q(client, [{"FindEntity": {"with_class": "Ev", "constraints": {
        "tag": ["==", tag], "at": [">", {"_date": "2024-01-01T12:00:00Z"}]},
        "results": {"list": ["i", "at", "_uniqueid"]}, "sort": "i"}}])
    ents = r[0]["FindEntity"]["entities"]
    assert [e["i"] for e in ents] == [1, 2] and "_date" in ents[0]["at"]
    uid = ents[0]["_uniqueid"]
    r, _ = q(client, [{"FindEntity": {"constraints": {"_uniqueid": ["==", uid]}, "results": {"list": ["i"]}}}])
    assert r[0]["FindEntity"]["entities"] == [{"i": 1}]
    r, _ = q(client, [{"FindEntity": {"with_class": "Ev", "constraints": {"tag": ["==", tag], "_uniqueid": ["not in", [uid]]},
                                      "results": {"count": True}}}])
    assert r[0]["FindEntity"]["count"] == 2


def test_sort_limit_offset(client, tag):
    q(client, [{"AddEntity": {"class": "S", "properties": {"tag": tag, "n": (i * 7) % 10}}} for i in range(10)])
    base = {"with_class": "S", "constraints": {"tag": ["==", tag]}, "results": {"list": ["n"]}}
    r, _ = q(client, [{"FindEntity": {**base, "sort": {"key": "n", "order": "descending"}, "limit": 3, "offset": 2}}])
    assert [e["n"] for e in r[0]["FindEntity"]["entities"]] == [7, 6, 5]
    r, _ = q(client, [{"FindEntity": {**base, "results": {"list": ["_uniqueid"]}, "sort": "_uniqueid"}}])
    uids = [e["_uniqueid"] for e in r[0]["FindEntity"]["entities"]]
    pages = []
    for off in range(0, 10, 4):
        r, _ = q(client, [{"FindEntity": {**base, "results": {"list": ["_uniqueid"]}, "sort": "_uniqueid",
                                          "limit": 4, "offset": off}}])
        pages += [e["_uniqueid"] for e in r[0]["FindEntity"]["entities"]]
    assert pages == uids and len(set(uids)) == 10


# ----------------------------------------------------------------- refs, conditional add, unique
def test_if_not_found_binds_existing(client, tag):
    """Conditional add that matched: {"status": 2, "info": "Object Exists!"}; the _ref binds
    the existing object (upsert idiom: AddEntity if_not_found + UpdateEntity ref)."""
    add = {"AddEntity": {"class": "Person", "_ref": 1, "properties": {"tag": tag, "name": "Ann"},
                         "if_not_found": {"tag": ["==", tag], "name": ["==", "Ann"]}}}
    upd = {"UpdateEntity": {"ref": 1, "properties": {"age": 30}}}
    r, _ = q(client, [add, upd])
    assert r[0]["AddEntity"]["status"] == 0 and r[1]["UpdateEntity"]["count"] == 1
    r, _ = q(client, [add, {"UpdateEntity": {"ref": 1, "properties": {"age": 31}}}])
    assert r[0]["AddEntity"] == {"status": 2, "info": "Object Exists!"}
    r, _ = q(client, [{"FindEntity": {"with_class": "Person", "constraints": {"tag": ["==", tag]},
                                      "results": {"list": ["age"]}}}])
    assert r[0]["FindEntity"]["entities"] == [{"age": 31}]


def test_unique_fails_transaction_when_many(client, tag):
    """unique: true with several matches: status 3 NotUnique as the single-object reply of a
    failed transaction (docs Overview/Responses "3 NotUnique"; aperture-data/aperturedb-python
    test/test_Server.py::test_Error_code_3 and PR #419 "with a return code 3, the query or
    transaction does not return a list")."""
    q(client, [{"AddEntity": {"class": "U", "properties": {"tag": tag}}} for _ in range(2)])
    find = {"FindEntity": {"with_class": "U", "unique": True, "constraints": {"tag": ["==", tag]}}}
    r, _ = q(client, [find])
    assert isinstance(r, dict) and r["status"] == 3 and "expecting 1 but got 2" in r["info"]
    assert r["FailedCommand"] == find
    r, _ = q(client, [{"FindEntity": {**find["FindEntity"], "limit": 1, "results": {"count": True}}}])
    assert r["status"] == 3  # unique looks at every match, not at the page


def test_rollback_on_failure_in_middle(client, tag):
    """A failed command aborts the transaction: single object reply {"status": -1, "info",
    "FailedCommand": <the failing command object as sent>}, nothing committed
    (https://aperturedata.io/docs/Return-Status.html, example "FindEntity with using a wrong
    ref": "FailedCommand": {"FindEntity": {"_ref": ..., ...}}). No FailedCommandIndex."""
    r, _ = q(client, [
        {"AddEntity": {"class": "RB", "properties": {"tag": tag}, "_ref": 1}},
        {"AddEntity": {"class": "RB", "properties": {"tag": tag}, "_ref": 2}},
        {"AddConnection": {"class": "rel", "src": 1, "dst": 2}},
        {"UpdateEntity": {"ref": 1, "properties": {"bad": [1, 2]}}},
    ])
    assert isinstance(r, dict) and r["status"] == -1
    assert r["FailedCommand"] == {"UpdateEntity": {"ref": 1, "properties": {"bad": [1, 2]}}}
    assert set(r) == {"status", "info", "FailedCommand"}
    r, _ = q(client, [{"FindEntity": {"with_class": "RB", "constraints": {"tag": ["==", tag]},
                                      "results": {"count": True}}}])
    assert r[0]["FindEntity"] == {"status": 0, "returned": 0, "count": 0}


@pytest.mark.parametrize("query,blobs,fragment", [
    ("not json", [], "Invalid JSON"),
    ({"GetStatus": {}}, [], "array"),
    ([{"Frobnicate": {}}], [], "Unknown command"),
    ([{"FindImage": {"colour": "red"}}], [], "unknown parameter"),
    ([{"FindImage": {"limit": "ten"}}], [], "must be an integer"),
    ([{"AddBoundingBox": {"image_ref": 7, "rectangle": {"x": 0, "y": 0, "width": 1, "height": 1}}}], [],
     "not defined"),
    ([{"AddEntity": {"class": "A", "_ref": 1}}, {"AddEntity": {"class": "A", "_ref": 1}}], [], "already defined"),
    ([{"AddImage": {}}], [], "blobs"),
    ([{"AddImage": {}}], [b"this is not an image"], "not a decodable image"),
    ([{"FindEntity": {"constraints": {"n": ["~=", 1]}}}], [], "operator"),
    ([{"FindEntity": {"constraints": {"_uniqueid": [">", "1"]}}}], [], "_uniqueid"),
])
def test_bad_input_error_replies(client, query, blobs, fragment):
    import json
    text = query if isinstance(query, str) else json.dumps(query)
    r, _ = client.query(text, blobs)
    assert isinstance(r, dict) and r["status"] == -1 and fragment.lower() in r["info"].lower(), r
    assert client.query([{"GetStatus": {}}])[0][0]["GetStatus"]["status"] == 0


# ----------------------------------------------------------------- regions
def _image_with_regions(client, tag):
    r, _ = q(client, [
        {"AddImage": {"_ref": 1, "properties": {"tag": tag, "k": 1}}},
        {"AddBoundingBox": {"image_ref": 1, "label": "cat", "rectangle": {"x": 1, "y": 2, "width": 10, "height": 5},
                            "properties": {"confidence": 0.9, "tag": tag}}},
        {"AddBoundingBox": {"image_ref": 1, "label": "dog", "rectangle": {"x": 5, "y": 5, "width": 4, "height": 4},
                            "properties": {"confidence": 0.4, "tag": tag}}},
        {"AddPolygon": {"image_ref": 1, "label": "car", "polygons": [[[0, 0], [10, 0], [10, 10], [0, 10]]],
                        "properties": {"tag": tag}}},
        {"AddImage": {"_ref": 2, "properties": {"tag": tag, "k": 2}}},
        {"AddBoundingBox": {"image_ref": 2, "label": "car", "rectangle": {"x": 0, "y": 0, "width": 3, "height": 3},
                            "properties": {"confidence": 0.7, "tag": tag}}},
    ], [jpeg(), jpeg(32, 32)])
    assert isinstance(r, list), r


def test_bounding_boxes_coordinates_labels(client, tag):
    """FindBoundingBox coordinates -> _coordinates {x,y,width,height}, labels -> _label."""
    _image_with_regions(client, tag)
    r, _ = q(client, [
        {"FindImage": {"_ref": 1, "constraints": {"tag": ["==", tag], "k": ["==", 1]}}},
        {"FindBoundingBox": {"image_ref": 1, "coordinates": True, "labels": True,
                             "results": {"list": ["confidence"]}, "sort": "confidence"}},
        {"FindBoundingBox": {"image_ref": 1, "with_label": "cat", "results": {"count": True}}},
    ])
    ents = r[1]["FindBoundingBox"]["entities"]
    assert ents[0] == {"confidence": 0.4, "_label": "dog",
                       "_coordinates": {"x": 5, "y": 5, "width": 4, "height": 4}}
    assert r[2]["FindBoundingBox"]["count"] == 1


def test_group_by_source(client, tag):
    """group_by_source: entities is a dict keyed by the source image's _uniqueid."""
    _image_with_regions(client, tag)
    r, _ = q(client, [
        {"FindImage": {"_ref": 1, "constraints": {"tag": ["==", tag]}, "results": {"list": ["_uniqueid", "k"]}}},
        {"FindBoundingBox": {"is_connected_to": {"ref": 1}, "group_by_source": True, "labels": True,
                             "coordinates": True}},
    ])
    by_k = {e["k"]: e["_uniqueid"] for e in r[0]["FindImage"]["entities"]}
    groups = r[1]["FindBoundingBox"]["entities"]
    assert r[1]["FindBoundingBox"]["returned"] == 3
    assert sorted(e["_label"] for e in groups[by_k[1]]) == ["cat", "dog"]
    assert [e["_label"] for e in groups[by_k[2]]] == ["car"]


def test_polygons_vertices_bounds_areas(client, tag):
    _image_with_regions(client, tag)
    r, _ = q(client, [
        {"FindImage": {"_ref": 1, "constraints": {"tag": ["==", tag], "k": ["==", 1]}}},
        {"FindPolygon": {"image_ref": 1, "vertices": True, "bounds": True, "areas": True, "labels": True}},
    ])
    e = r[1]["FindPolygon"]["entities"][0]
    assert e["_vertices"] == [[[0, 0], [10, 0], [10, 10], [0, 10]]]
    assert e["_bounds"] == {"x": 0, "y": 0, "width": 10, "height": 10}
    assert e["_area"] == 100 and e["_label"] == "car"


def test_update_delete_regions_and_cascade(client, tag):
    _image_with_regions(client, tag)
    r, _ = q(client, [{"UpdateBoundingBox": {"constraints": {"tag": ["==", tag], "_label": ["==", "dog"]},
                                             "properties": {"checked": True}, "label": "wolf"}}])
    assert r[0]["UpdateBoundingBox"]["count"] == 1
    r, _ = q(client, [{"FindBoundingBox": {"with_label": "wolf", "constraints": {"tag": ["==", tag]},
                                           "results": {"list": ["checked"]}}}])
    assert r[0]["FindBoundingBox"]["entities"] == [{"checked": True}]
    r, _ = q(client, [{"UpdatePolygon": {"constraints": {"tag": ["==", tag]}, "properties": {"z": 1}}},
                      {"DeletePolygon": {"constraints": {"tag": ["==", tag], "z": ["==", 1]}}}])
    assert r[1]["DeletePolygon"]["count"] == 1
    r, _ = q(client, [{"DeleteBoundingBox": {"constraints": {"tag": ["==", tag], "_label": ["==", "car"]}}}])
    assert r[0]["DeleteBoundingBox"]["count"] == 1
    r, _ = q(client, [{"DeleteImage": {"constraints": {"tag": ["==", tag]}}},
                      {"FindBoundingBox": {"constraints": {"tag": ["==", tag]}, "results": {"count": True}}}])
    assert r[1]["FindBoundingBox"]["count"] == 0


# ----------------------------------------------------------------- entities and connections
def test_entities_and_connections(client, tag):
    r, _ = q(client, [
        {"AddEntity": {"_ref": 1, "class": "Author", "properties": {"tag": tag, "name": "A"}}},
        {"AddEntity": {"_ref": 2, "class": "Book", "properties": {"tag": tag, "title": "B1"}}},
        {"AddEntity": {"_ref": 3, "class": "Book", "properties": {"tag": tag, "title": "B2"},
                       "connect": {"ref": 1, "class": "wrote", "direction": "in", "properties": {"year": 2001}}}},
        {"AddConnection": {"class": "wrote", "src": 1, "dst": 2, "properties": {"year": 1999}}},
    ])
    assert [list(x.values())[0]["status"] for x in r] == [0, 0, 0, 0]
    r, _ = q(client, [
        {"FindEntity": {"_ref": 1, "with_class": "Author", "constraints": {"tag": ["==", tag]}}},
        {"FindEntity": {"with_class": "Book", "is_connected_to": {"ref": 1, "connection_class": "wrote",
                                                                  "direction": "out"},
                        "results": {"list": ["title"]}, "sort": "title"}},
        {"FindConnection": {"src": 1, "with_class": "wrote", "constraints": {"year": [">", 2000]},
                            "results": {"list": ["year"]}}},
        {"FindEntity": {"with_class": "Book", "is_connected_to": {"ref": 1, "direction": "in"},
                        "results": {"count": True}}},
    ])
    assert [e["title"] for e in r[1]["FindEntity"]["entities"]] == ["B1", "B2"]
    assert r[2]["FindConnection"]["connections"] == [{"year": 2001}]
    assert r[3]["FindEntity"]["count"] == 0
    r, _ = q(client, [
        {"FindEntity": {"_ref": 1, "with_class": "Author", "constraints": {"tag": ["==", tag]}}},
        {"FindConnection": {"_ref": 2, "src": 1, "constraints": {"year": ["<", 2000]}}},
        {"UpdateConnection": {"ref": 2, "properties": {"note": "old"}}},
        {"DeleteConnection": {"src": 1, "with_class": "wrote", "constraints": {"year": ["==", 2001]}}},
    ])
    assert r[2]["UpdateConnection"]["count"] == 1 and r[3]["DeleteConnection"]["count"] == 1
    r, _ = q(client, [{"AddEntity": {"_ref": 1, "class": "Author", "if_not_found": {"tag": ["==", tag]}}},
                      {"FindEntity": {"_ref": 2, "with_class": "Book", "constraints": {"title": ["==", "B1"], "tag": ["==", tag]}}},
                      {"AddConnection": {"class": "wrote", "src": 1, "dst": 2, "if_not_found": {"year": ["==", 1999]}}},
                      {"DeleteEntity": {"with_class": "Book", "constraints": {"tag": ["==", tag]}}},
                      {"FindConnection": {"src": 1, "results": {"count": True}}}])
    assert r[2]["AddConnection"]["status"] == 2
    assert r[3]["DeleteEntity"]["count"] == 2 and r[4]["FindConnection"]["count"] == 0


def test_schema_and_indexes(client, tag):
    """GetSchema shape read by aperturedb.Utils (entities/connections: returned, classes, matched,
    properties [matched, indexed, type]); CreateIndex/RemoveIndex/GetIndexes."""
    from aperturedb.Utils import Utils
    _image_with_regions(client, tag)
    u = Utils(client)
    assert u.create_entity_index("_Image", "k")
    schema = u.get_schema()
    assert schema["entities"]["classes"]["_Image"]["properties"]["k"][1] is True
    assert schema["connections"]["classes"]["_BoundingBoxToImage"]["dst"] == "_Image"
    assert "k" in u.get_indexed_props("_Image")
    r, _ = q(client, [{"CreateIndex": {"index_type": "entity", "class": "Person", "property_key": "name"}},
                      {"RemoveIndex": {"index_type": "entity", "class": "Person", "property_key": "name"}}])
    assert [list(x.values())[0]["status"] for x in r] == [0, 0]
    assert u.count_images() == 2 and u.count_bboxes() == 3
    assert u.remove_all_objects()
