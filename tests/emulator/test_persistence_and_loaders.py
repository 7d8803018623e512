"""Persistence across restarts and bulk loads through the SDK's own ParallelLoader + CSV
data classes (aperturedb ImageDataCSV, BBoxDataCSV, PolygonDataCSV, EntityDataCSV,
ConnectionDataCSV; docs "Loading data from CSV" / Cookbook ingestion notebooks)."""
import json

import pytest
from aperturedb.BBoxDataCSV import BBoxDataCSV
from aperturedb.ConnectionDataCSV import ConnectionDataCSV
from aperturedb.EntityDataCSV import EntityDataCSV
from aperturedb.ImageDataCSV import ImageDataCSV
from aperturedb.ParallelLoader import ParallelLoader
from aperturedb.PolygonDataCSV import PolygonDataCSV

from aperturedb_emulator.seed import seed
from aperturedb_emulator.server import EmulatorServer

from .conftest import REAL, connect
from .helpers import jpeg


@pytest.mark.skipif(REAL, reason="restarts the emulator")
def test_data_survives_restart(tmp_path):
    with EmulatorServer(data_dir=str(tmp_path)) as srv:
        c = connect(srv)
        seed(c, 5)
        c.query([{"FindImage": {"_ref": 1, "constraints": {"index": ["==", 0]}}},
                 {"AddEntity": {"_ref": 2, "class": "Owner", "properties": {"at": {"_date": "2024-05-01T00:00:00Z"}}}},
                 {"AddConnection": {"class": "owns", "src": 2, "dst": 1, "properties": {"w": 1.5}}},
                 {"CreateIndex": {"index_type": "entity", "class": "_Image", "property_key": "index"}}])
        c.query([{"DeleteImage": {"constraints": {"index": ["==", 4]}}}])
        before, blobs_before = c.query([{"FindImage": {"results": {"all_properties": True}, "blobs": True,
                                                       "sort": "_uniqueid"}}])
    with EmulatorServer(data_dir=str(tmp_path)) as srv:
        c = connect(srv)
        after, blobs_after = c.query([{"FindImage": {"results": {"all_properties": True}, "blobs": True,
                                                     "sort": "_uniqueid"}}])
        assert after == before and blobs_after == blobs_before
        r, _ = c.query([{"FindEntity": {"_ref": 1, "with_class": "Owner", "results": {"list": ["at"]}}},
                        {"FindConnection": {"src": 1, "results": {"list": ["w"]}}},
                        {"FindBoundingBox": {"results": {"count": True}}},
                        {"GetIndexes": {}}])
        assert r[0]["FindEntity"]["entities"] == [{"at": {"_date": "2024-05-01T00:00:00+00:00"}}]
        assert r[1]["FindConnection"]["connections"] == [{"w": 1.5}]
        assert r[2]["FindBoundingBox"]["count"] == sum(2 + i % 2 for i in range(4))
        assert "index" in r[3]["GetIndexes"]["indexes"]["entity"]["_Image"]
        seed(c, 1, start=100)   # new ids do not collide with persisted ones
        r, _ = c.query([{"FindImage": {"results": {"count": True}}}])
        assert r[0]["FindImage"]["count"] == 5


def test_parallel_loader_csv_roundtrip(client, tmp_path, tag):
    n = 24
    rows = ["filename,img_id,dataset,width,height,constraint_img_id"]
    for i in range(n):
        path = tmp_path / f"{i}.jpg"
        path.write_bytes(jpeg(40 + i, 30))
        rows.append(f"{path},{tag}-{i},{tag},{40 + i},30,{tag}-{i}")
    (tmp_path / "images.csv").write_text("\n".join(rows) + "\n")
    boxes = ["img_id,x_pos,y_pos,width,height,_label,confidence"]
    polys = ["img_id,poly_id,_label,polygons"]
    people = ["EntityClass,name,tag,constraint_name"]
    conns = ["ConnectionClass,Person@name,_Image@img_id,role"]
    for i in range(n):
        for b in range(2):
            boxes.append(f"{tag}-{i},{b},{b},5,6,{'cat' if b else 'dog'},0.{5 + b}")
        polys.append(f'{tag}-{i},{i},car,"{json.dumps([[[0, 0], [4, 0], [4, 4]]])}"')
        people.append(f"Person,{tag}-p{i},{tag},{tag}-p{i}")
        conns.append(f"owns,{tag}-p{i},{tag}-{i},owner")
    for name, lines in (("boxes", boxes), ("polys", polys), ("people", people), ("conns", conns)):
        (tmp_path / f"{name}.csv").write_text("\n".join(lines) + "\n")

    loader = ParallelLoader(client)
    for data in (ImageDataCSV(str(tmp_path / "images.csv")), BBoxDataCSV(str(tmp_path / "boxes.csv")),
                 PolygonDataCSV(str(tmp_path / "polys.csv")), EntityDataCSV(str(tmp_path / "people.csv")),
                 ConnectionDataCSV(str(tmp_path / "conns.csv"))):
        loader.ingest(data, batchsize=5, numthreads=3)
        assert loader.error_counter == 0, type(data).__name__
    # loading the images again is a no-op thanks to constraint_img_id (status 2)
    loader.ingest(ImageDataCSV(str(tmp_path / "images.csv")), batchsize=5, numthreads=2)
    assert loader.get_objects_existed() == n

    r, blobs = client.query([
        {"FindImage": {"_ref": 1, "constraints": {"dataset": ["==", tag]}, "blobs": True,
                       "results": {"list": ["img_id", "width", "_uniqueid"]}, "sort": "width"}},
        {"FindBoundingBox": {"is_connected_to": {"ref": 1}, "group_by_source": True,
                             "labels": True, "coordinates": True, "results": {"list": ["confidence"]}}},
        {"FindPolygon": {"is_connected_to": {"ref": 1}, "vertices": True, "labels": True}},
        {"FindEntity": {"with_class": "Person", "is_connected_to": {"ref": 1, "connection_class": "owns"},
                        "results": {"count": True}}},
    ])
    imgs = r[0]["FindImage"]["entities"]
    assert len(imgs) == n == len(blobs) and imgs[0]["img_id"] == f"{tag}-0"
    groups = r[1]["FindBoundingBox"]["entities"]
    assert len(groups) == n and all(len(v) == 2 for v in groups.values())
    assert {e["_label"] for v in groups.values() for e in v} == {"cat", "dog"}
    assert r[2]["FindPolygon"]["returned"] == n
    assert r[2]["FindPolygon"]["entities"][0]["_vertices"] == [[[0, 0], [4, 0], [4, 4]]]
    assert r[3]["FindEntity"]["count"] == n


def test_seed_helper(client):
    assert seed(client, 6) == 6
    r, _ = client.query([{"FindImage": {"_ref": 1, "constraints": {"dataset": ["==", "seed"]},
                                        "results": {"list": ["split", "index", "width", "height"]}}},
                         {"FindBoundingBox": {"is_connected_to": {"ref": 1}, "results": {"list": ["confidence"]}}},
                         {"FindPolygon": {"is_connected_to": {"ref": 1}, "results": {"count": True}}}])
    assert r[0]["FindImage"]["returned"] == 6
    assert 12 <= r[1]["FindBoundingBox"]["returned"] <= 18 and r[2]["FindPolygon"]["count"] == 6
