"""Reply shapes the emulator takes from ApertureDB's documentation and recorded server output.

Sources (each test names the one it relies on):
- docs.aperturedata.io/query_language/Overview/Responses ("Responses", field descriptions
  and Return Status table) and aperturedata.io/docs/Return-Status.html (FailedCommand example).
- docs.aperturedata.io/query_language/Reference/... (FindImage, FindBoundingBox, GetSchema).
- aperture-data/Cookbook notebooks/simple/*.ipynb: replies recorded from a real server
  (GetStatus reports version 0.17.23).
- aperture-data/aperturedb-python test/test_Server.py (status 3 reply) and PR #419.
"""
from .helpers import jpeg, size_of


def q(client, query, blobs=()):
    return client.query(query, list(blobs))


def test_failed_command_is_the_command_object(client):
    """aperturedata.io/docs/Return-Status.html: a failed transaction answers one object with
    "status", "info" and "FailedCommand": {"FindEntity": {...the command as sent...}}."""
    cmd = {"FindEntity": {"is_connected_to": {"ref": 7}}}
    r, _ = q(client, [{"GetStatus": {}}, cmd])
    assert isinstance(r, dict) and r["status"] == -1 and isinstance(r["info"], str)
    assert r["FailedCommand"] == cmd and "FailedCommandIndex" not in r


def test_conditional_add_matching_several_is_not_unique(client, tag):
    """Status 2 is "a conditional add found a unique instance" (docs Overview/Responses); with
    several matches the reply is the status-3 object aperturedb-python's own test models for
    AddImage: {"info": "JSON Command 1: expecting 1 but got 2", "status": 3}
    (aperture-data/aperturedb-python test/test_Server.py::test_Error_code_3)."""
    q(client, [{"AddEntity": {"class": "Dup", "properties": {"tag": tag}}} for _ in range(2)])
    r, _ = q(client, [{"AddEntity": {"class": "Dup", "properties": {"tag": tag},
                                     "if_not_found": {"tag": ["==", tag]}}}])
    assert isinstance(r, dict) and r["status"] == 3 and "expecting 1 but got 2" in r["info"]


def test_exists_info_texts_and_update_delete_count(client, tag):
    """Cookbook notebooks/simple/Regions.ipynb (recorded): AddImage -> {"info": "Image exists!",
    "status": 2}; AddBoundingBox / AddPolygon -> {"info": "Object Exists!", "status": 2};
    DeleteBoundingBox/DeletePolygon/DeleteImage and UpdateImage (Images.ipynb) ->
    {"count": n, "status": 0}."""
    query = [
        {"AddImage": {"_ref": 1, "properties": {"tag": tag}, "if_not_found": {"tag": ["==", tag]}}},
        {"AddBoundingBox": {"image_ref": 1, "label": "Pan", "rectangle": {"x": 1, "y": 1, "width": 4, "height": 4},
                            "properties": {"tag": tag}, "if_not_found": {"tag": ["==", tag]}}},
        {"AddPolygon": {"image_ref": 1, "label": "Bread", "polygons": [[[0, 0], [5, 0], [5, 5]]],
                        "properties": {"tag": tag}, "if_not_found": {"tag": ["==", tag]}}},
    ]
    r, _ = q(client, query, [jpeg()])
    assert [list(x.values())[0] for x in r] == [{"status": 0}] * 3
    r, _ = q(client, query, [jpeg()])
    assert r == [{"AddImage": {"status": 2, "info": "Image exists!"}},
                 {"AddBoundingBox": {"status": 2, "info": "Object Exists!"}},
                 {"AddPolygon": {"status": 2, "info": "Object Exists!"}}]
    r, _ = q(client, [{"UpdateImage": {"constraints": {"tag": ["==", tag]}, "properties": {"x": 1}}},
                      {"DeleteBoundingBox": {"constraints": {"tag": ["==", tag]}}},
                      {"DeletePolygon": {"constraints": {"tag": ["==", tag]}}},
                      {"DeleteImage": {"constraints": {"tag": ["==", tag]}}}])
    assert [list(x.values())[0] for x in r] == [{"status": 0, "count": 1}] * 4


def test_region_connection_classes_label_and_schema(client, tag):
    """docs.aperturedata.io/query_language/Reference/db_commands/GetSchema (example response):
    connections "_BoundingBoxToImage" {src "_BoundingBox", dst "_Image"} and "_PolygonToImage"
    {src "_Polygon", dst "_Image"}; the _BoundingBox class lists "_label", "_x", "_y", "_width",
    "_height" as [matched, indexed, type] properties. _label is the system property for the
    label (docs query_language/Overview/System-defined Properties)."""
    q(client, [{"AddImage": {"_ref": 1, "properties": {"tag": tag}}},
               {"AddBoundingBox": {"image_ref": 1, "label": "cat", "properties": {"tag": tag},
                                   "rectangle": {"x": 1, "y": 2, "width": 3, "height": 4}}},
               {"AddPolygon": {"image_ref": 1, "label": "dog", "polygons": [[[0, 0], [4, 0], [4, 4]]]}}],
      [jpeg()])
    r, _ = q(client, [{"GetSchema": {}}])
    schema = r[0]["GetSchema"]
    conns = schema["connections"]["classes"]
    assert {k: (v["src"], v["dst"]) for k, v in conns.items()} == {
        "_BoundingBoxToImage": ("_BoundingBox", "_Image"), "_PolygonToImage": ("_Polygon", "_Image")}
    bbox_props = schema["entities"]["classes"]["_BoundingBox"]["properties"]
    assert {"_label", "_x", "_y", "_width", "_height"} <= set(bbox_props)
    assert bbox_props["_label"] == [1, False, "String"] and bbox_props["_x"] == [1, False, "Number"]
    r, _ = q(client, [{"FindBoundingBox": {"_ref": 1, "constraints": {"_label": ["==", "cat"], "tag": ["==", tag]}}},
                      {"FindImage": {"is_connected_to": {"ref": 1, "connection_class": "_BoundingBoxToImage",
                                                         "direction": "out"}, "results": {"count": True}}}])
    assert r[1]["FindImage"]["count"] == 1


def test_blobs_default_false_and_region_blobs(client, tag):
    """FindImage: "blobs ... (Default: false)" (docs query_language/Reference/image_commands/
    image_commands/FindImage); recorded FindImage without "blobs" has no blobs_start
    (Cookbook notebooks/simple/Images.ipynb). FindBoundingBox "blobs" defaults to false (docs
    .../bbox_commands/FindBoundingBox); with blobs: true both FindBoundingBox and FindPolygon
    return pixel blobs with "blobs_start" and per-entity "_blob_index" (Cookbook
    notebooks/simple/Regions.ipynb)."""
    q(client, [{"AddImage": {"_ref": 1, "properties": {"tag": tag}}},
               {"AddBoundingBox": {"image_ref": 1, "rectangle": {"x": 2, "y": 2, "width": 10, "height": 6}}},
               {"AddPolygon": {"image_ref": 1, "polygons": [[[1.5, 1.5], [9.2, 1.5], [9.2, 7.1]]]}}],
      [jpeg(40, 30)])
    r, blobs = q(client, [{"FindImage": {"constraints": {"tag": ["==", tag]}, "results": {"list": ["tag"]}}}])
    assert blobs == [] and r[0]["FindImage"] == {"status": 0, "returned": 1, "entities": [{"tag": tag}]}
    r, blobs = q(client, [
        {"FindImage": {"_ref": 1, "constraints": {"tag": ["==", tag]}}},
        {"FindBoundingBox": {"image_ref": 1, "coordinates": True}},
        {"FindBoundingBox": {"image_ref": 1, "blobs": True, "results": {"all_properties": True}}},
        {"FindPolygon": {"image_ref": 1, "blobs": True, "bounds": True}},
    ])
    assert r[0]["FindImage"] == {"status": 0, "returned": 0}
    assert "blobs_start" not in r[1]["FindBoundingBox"]
    box, poly = r[2]["FindBoundingBox"], r[3]["FindPolygon"]
    assert box["blobs_start"] == 0 and box["entities"][0]["_blob_index"] == 0
    assert poly["blobs_start"] == 1 and poly["entities"][0]["_blob_index"] == 1
    assert poly["entities"][0]["_bounds"] == {"x": 1, "y": 1, "width": 9, "height": 7}
    assert len(blobs) == 2 and size_of(blobs[0]) == (10, 6) and size_of(blobs[1]) == (9, 7)


def test_returned_count_limit_and_empty(client, tag):
    """docs.aperturedata.io/query_language/Overview/Responses: "returned" is the number of
    entities, connections or blobs returned (0 for aggregates only or a bare _ref); entities
    only when property values are requested. Recorded: {"count": 1, "returned": 0, "status": 0}
    for results.count (Cookbook notebooks/simple/BulkEmbeddings.ipynb); an empty FindImage with
    results.list and blobs: true -> {"returned": 0, "status": 0}, no entities, no blobs_start
    (Cookbook notebooks/simple/Connections.ipynb); FindImage with blobs and no results ->
    {"blobs_start": 0, "returned": 1, "status": 0} (Cookbook Regions.ipynb). "count" is the
    total number of matches, limit applies to all but count (aperturedata.io/docs/blocks/results.html)."""
    q(client, [{"AddEntity": {"class": "C", "properties": {"tag": tag, "n": i}}} for i in range(5)])
    base = {"with_class": "C", "constraints": {"tag": ["==", tag]}}
    r, _ = q(client, [{"FindEntity": {**base, "results": {"count": True}}},
                      {"FindEntity": {**base, "results": {"list": ["n"], "count": True}, "sort": "n",
                                      "limit": 2, "offset": 1}},
                      {"FindEntity": {"with_class": "C", "constraints": {"tag": ["==", "nothing"]},
                                      "results": {"list": ["n"]}}}])
    assert r[0]["FindEntity"] == {"status": 0, "returned": 0, "count": 5}
    assert r[1]["FindEntity"] == {"status": 0, "returned": 2, "count": 5, "entities": [{"n": 1}, {"n": 2}]}
    assert r[2]["FindEntity"] == {"status": 0, "returned": 0}
    q(client, [{"AddImage": {"properties": {"tag": tag}}}], [jpeg()])
    r, blobs = q(client, [{"FindImage": {"constraints": {"tag": ["==", tag]}, "blobs": True}},
                          {"FindImage": {"constraints": {"tag": ["==", "none"]}, "blobs": True,
                                         "results": {"list": ["tag"]}}}])
    assert r == [{"FindImage": {"status": 0, "returned": 1, "blobs_start": 0}},
                 {"FindImage": {"status": 0, "returned": 0}}] and len(blobs) == 1


def test_find_connection_replies_under_connections(client, tag):
    """FindConnection lists properties under "connections", not "entities" (Cookbook
    notebooks/simple/Connections.ipynb: {"connections": [{"_uniqueid": ..., "best_image": true}],
    "returned": 1, "status": 0}; docs Overview/Responses)."""
    q(client, [{"AddEntity": {"_ref": 1, "class": "A", "properties": {"tag": tag}}},
               {"AddEntity": {"_ref": 2, "class": "B", "properties": {"tag": tag}}},
               {"AddConnection": {"class": f"rel{tag}", "src": 1, "dst": 2, "properties": {"best": True}}}])
    r, _ = q(client, [{"FindConnection": {"with_class": f"rel{tag}", "results": {"all_properties": True}}}])
    f = r[0]["FindConnection"]
    assert f["returned"] == 1 and "entities" not in f
    assert f["connections"][0]["best"] is True and "_uniqueid" in f["connections"][0]


def test_connect_direction(client, tag):
    """connect.direction "in" makes the referenced object the source (ref -> new object). No
    recorded output shows it; ApertureData's own code names its connections that way: AddEntity
    CrawlRun with connect {"ref": <CrawlSpec>, "class": "crawlSpecHasRun", "direction": "in"}
    (aperture-data/workflows apps/crawl-website/app/crawl_website.py; likewise
    segmentationSpecHasRun, embeddingsSpecHasRun, segmentHasDescriptor in apps/text-*/ and
    hasRecord in aperture-data/aperturedb-python aperturedb/MLCroissant.py). The default when
    "direction" is omitted is not documented in any source found; the emulator keeps "out"
    (new object -> ref), an assumption listed in docs/emulator-evidence.md. The reads use
    is_connected_to, whose direction is seen from the referenced object (test_directions.py)."""
    r, _ = q(client, [{"AddEntity": {"_ref": 1, "class": "Spec", "properties": {"tag": tag}}},
                      {"AddEntity": {"_ref": 2, "class": "Doc", "properties": {"tag": tag},
                                     "connect": {"ref": 1, "class": "has", "direction": "in"}}},
                      {"AddEntity": {"class": "Note", "properties": {"tag": tag},
                                     "connect": {"ref": 1, "class": "about"}}}])
    r, _ = q(client, [{"FindEntity": {"_ref": 1, "with_class": "Spec", "constraints": {"tag": ["==", tag]}}},
                      {"FindEntity": {"is_connected_to": {"ref": 1, "direction": "out"}, "results": {"list": ["_uniqueid"]},
                                      "with_class": "Doc"}},
                      {"FindEntity": {"is_connected_to": {"ref": 1, "direction": "in"}, "with_class": "Note",
                                      "results": {"count": True}}},
                      {"FindConnection": {"src": 1, "with_class": "has", "results": {"count": True}}},
                      {"FindConnection": {"dst": 1, "with_class": "about", "results": {"count": True}}}])
    assert r[1]["FindEntity"]["returned"] == 1 and r[2]["FindEntity"]["count"] == 1
    assert r[3]["FindConnection"]["count"] == 1 and r[4]["FindConnection"]["count"] == 1


def test_get_status_fields(client):
    """Recorded GetStatus reply (Cookbook notebooks/simple/*.ipynb, e.g. Regions.ipynb):
    {"info": "OK", "status": 0, "system": "ApertureDB", "version": "0.17.23"}."""
    r, _ = q(client, [{"GetStatus": {}}])
    s = r[0]["GetStatus"]
    assert set(s) == {"info", "status", "system", "version"}
    assert (s["info"], s["status"], s["system"]) == ("OK", 0, "ApertureDB")


def test_polygon_values_as_recorded(client, tag):
    """Cookbook notebooks/simple/Regions.ipynb (recorded): vertices come back as 32-bit floats
    (483.84 -> 483.8399963378906), "_bounds" is the integer enclosing rectangle
    ({"x": 416, "y": 1854, "width": 1429, "height": 1251}) and "_area" an integer (1359696);
    all_properties on regions includes "_area" and "_label"."""
    ring = [[483.84, 2890.94], [416.40, 2314.37], [704.592, 1935.36], [1391.04, 1854.72],
            [1814.4, 2177.28], [1844.64, 2741.76], [1118.88, 3104.64]]
    q(client, [{"AddImage": {"_ref": 1, "properties": {"tag": tag}}},
               {"AddPolygon": {"image_ref": 1, "label": "Bread", "polygons": [ring], "properties": {"tag": tag}}},
               {"AddBoundingBox": {"image_ref": 1, "label": "Pan", "properties": {"tag": tag},
                                   "rectangle": {"x": 40, "y": 1500, "width": 2200, "height": 1800}}}], [jpeg()])
    r, _ = q(client, [{"FindPolygon": {"constraints": {"tag": ["==", tag]}, "vertices": True, "bounds": True,
                                       "results": {"all_properties": True}}},
                      {"FindBoundingBox": {"constraints": {"tag": ["==", tag]}, "results": {"all_properties": True}}}])
    e = r[0]["FindPolygon"]["entities"][0]
    assert e["_vertices"][0][0] == [483.8399963378906, 2890.93994140625]
    assert e["_bounds"] == {"x": 416, "y": 1854, "width": 1429, "height": 1251}
    assert e["_area"] == 1359696 and e["_label"] == "Bread"
    b = r[1]["FindBoundingBox"]["entities"][0]
    assert b["_area"] == 3960000 and b["_label"] == "Pan" and "_uniqueid" in b


def test_empty_find_is_status_0(client, tag):
    """A Find that matches nothing answers status 0 with returned 0 (recorded: Cookbook
    notebooks/simple/Connections.ipynb, FindImage and FindConnection after deletion). Status 1
    ("If a class or property key was not present but used for searching", docs
    Overview/Responses) is not produced by the emulator: no source shows its reply body."""
    r, _ = q(client, [{"FindEntity": {"with_class": "Nobody", "constraints": {"tag": ["==", tag]},
                                      "results": {"all_properties": True}}}])
    assert r == [{"FindEntity": {"status": 0, "returned": 0}}]
