"""Descriptor sets, descriptors and k-NN through the SDK: the replies recorded in Cookbook
notebooks/simple/{VectorSearch,Embeddings,ImageVectorSearch}.ipynb, nearest neighbours equal
to a brute-force numpy answer for each metric, images found through their descriptors, and
failures that roll the whole transaction back."""
import numpy as np
import pytest
from aperturedb.Descriptors import Descriptors
from aperturedb.Utils import Utils

from aperturedb_emulator.embeddings import add_color_descriptors, color_histogram
from aperturedb_emulator.server import EmulatorServer

from .conftest import connect, emulator_only
from .helpers import jpeg

DISHES = [("Butter Chicken", "Indian", [0.9, 0.1, 0.8, 0.2]),
          ("Rajma Chawal", "Indian", [0.8, 0.2, 0.9, 0.1]),
          ("Ramen", "Japanese", [0.1, 0.9, 0.2, 0.8]),
          ("Sushi", "Japanese", [0.2, 0.8, 0.1, 0.9]),
          ("Focaccia", "Italian", [0.5, 0.5, 0.6, 0.4])]
QUERY = np.array([0.85, 0.15, 0.85, 0.15], dtype=np.float32)


def f32(v):
    return np.asarray(v, dtype=np.float32).tobytes()


def add_set(client, name, dims, metric="L2", **kw):
    r, _ = client.query([{"AddDescriptorSet": {"name": name, "dimensions": dims, "metric": metric, **kw}}])
    assert r == [{"AddDescriptorSet": {"status": 0}}], r


def strip_ids(entities):
    return [{k: v for k, v in e.items() if k != "_uniqueid"} for e in entities]


def test_vector_search_notebook(client):
    """VectorSearch.ipynb (recorded, server 0.19.6): CS k-NN, most similar first, ties in
    insertion order, `_distance` the cosine similarity to float32 precision; the SDK's
    Descriptors.find_similar / find_similar_mmr give the recorded order; DeleteDescriptorSet
    counts the set."""
    add_set(client, "recipe_search", 4, metric="CS", engine="FaissFlat")
    for name, cuisine, vec in DISHES:
        r, _ = client.query([{"AddDescriptor": {"set": "recipe_search",
                                                "properties": {"name": name, "cuisine": cuisine}}}], [f32(vec)])
        assert r == [{"AddDescriptor": {"status": 0}}]
    r, _ = client.query([{"FindDescriptor": {"set": "recipe_search", "k_neighbors": 3, "distances": True,
                                             "results": {"all_properties": True}}}], [QUERY.tobytes()])
    found = r[0]["FindDescriptor"]
    assert set(found) == {"entities", "returned", "status"} and found["returned"] == 3
    recorded = [
        {"_distance": 0.9966610670089722, "_set_name": "recipe_search", "cuisine": "Indian", "name": "Butter Chicken"},
        {"_distance": 0.9966610670089722, "_set_name": "recipe_search", "cuisine": "Indian", "name": "Rajma Chawal"},
        {"_distance": 0.867941677570343, "_set_name": "recipe_search", "cuisine": "Italian", "name": "Focaccia"}]
    entities = strip_ids(found["entities"])
    # Distances to float32 precision: the server's FAISS kernels add in an order of their own (the
    # emulator sums in float64 and rounds once, the same on every CPU); within one unit in the last place.
    assert [{k: v for k, v in e.items() if k != "_distance"} for e in entities] == \
        [{k: v for k, v in e.items() if k != "_distance"} for e in recorded]
    assert [e["_distance"] for e in entities] == pytest.approx([e["_distance"] for e in recorded], rel=2 ** -23, abs=0)
    assert entities[0]["_distance"] == entities[1]["_distance"]  # a tie, kept in insertion order
    d = Descriptors(client)
    d.find_similar(set="recipe_search", vector=QUERY, k_neighbors=3, distances=True)
    assert [e["name"] for e in d.response] == ["Butter Chicken", "Rajma Chawal", "Focaccia"]
    d.find_similar_mmr(set="recipe_search", vector=QUERY, k_neighbors=3, fetch_k=5, lambda_mult=0.5)
    assert [e["cuisine"] for e in d.response] == ["Indian", "Indian", "Italian"]
    r, _ = client.query([{"DeleteDescriptorSet": {"with_name": "recipe_search"}}])
    assert r == [{"DeleteDescriptorSet": {"count": 1, "status": 0}}]
    r, _ = client.query([{"FindDescriptor": {"results": {"count": True}}}])
    assert r[0]["FindDescriptor"]["count"] == 0   # its descriptors went with it


def test_embeddings_notebook(client):
    """Embeddings.ipynb (recorded): conditional AddDescriptor with a label; k-NN with distances,
    labels and blobs (L2 distance 0.0 to itself, `_label` only when asked, the vector as the
    blob); UpdateDescriptor remove_props and DeleteDescriptor answer counts; a Find matching
    nothing answers {"returned": 0, "status": 0}."""
    add_set(client, "recipe_search", 8, engine="Flat", properties={"year_created": 2023, "model": "m"})
    vec = np.linspace(-1, 1, 8, dtype=np.float32)
    props = {"id": 75, "year_created": 2023, "provider": "cohere"}
    add = [{"AddDescriptor": {"set": "recipe_search", "label": "dinner", "properties": props,
                              "if_not_found": {"id": ["==", 75]}}}]
    r, _ = client.query(add, [vec.tobytes()])
    assert r == [{"AddDescriptor": {"status": 0}}]
    r, _ = client.query(add, [vec.tobytes()])
    assert r == [{"AddDescriptor": {"status": 2, "info": "Object Exists!"}}]
    r, blobs = client.query([{"FindDescriptor": {"set": "recipe_search", "k_neighbors": 6, "distances": True,
                                                 "labels": True, "blobs": True,
                                                 "results": {"all_properties": True}}}], [vec.tobytes()])
    found = r[0]["FindDescriptor"]
    assert found["returned"] == 1 and found["blobs_start"] == 0
    assert strip_ids(found["entities"]) == [{"_blob_index": 0, "_distance": 0.0, "_label": "dinner",
                                             "_set_name": "recipe_search", **props}]
    assert blobs == [vec.tobytes()]
    r, _ = client.query([{"UpdateDescriptor": {"constraints": {"id": ["==", 75]}, "remove_props": ["year_created"]}}])
    assert r == [{"UpdateDescriptor": {"count": 1, "status": 0}}]
    find = [{"FindDescriptor": {"set": "recipe_search", "constraints": {"id": ["==", 75]},
                                "results": {"all_properties": True}}}]
    r, _ = client.query(find)
    assert strip_ids(r[0]["FindDescriptor"]["entities"]) == [
        {"_set_name": "recipe_search", "id": 75, "provider": "cohere"}]
    r, _ = client.query([{"DeleteDescriptor": {"constraints": {"provider": ["==", "cohere"]}}}])
    assert r == [{"DeleteDescriptor": {"count": 1, "status": 0}}]
    r, _ = client.query(find)
    assert r == [{"FindDescriptor": {"returned": 0, "status": 0}}]


@pytest.mark.parametrize("metric", ["L2", "IP", "CS"])
def test_knn_equals_brute_force(client, metric):
    """For each metric the k nearest (in order) and their distances are numpy's exact answer:
    L2 the squared Euclidean distance (smallest first), IP the inner product and CS the cosine
    similarity (largest first) - docs FindDescriptor `distances`."""
    rng = np.random.default_rng(7)
    data = rng.standard_normal((600, 24)).astype(np.float32)
    add_set(client, "bf", 24, metric=metric)
    for lo in range(0, len(data), 200):
        q = [{"AddDescriptor": {"set": "bf", "properties": {"i": i}}} for i in range(lo, lo + 200)]
        r, _ = client.query(q, [data[i].tobytes() for i in range(lo, lo + 200)])
        assert isinstance(r, list), r
    for _ in range(5):
        query = rng.standard_normal(24).astype(np.float32)
        if metric == "L2":
            truth = ((data - query) ** 2).sum(axis=1)
            order = np.argsort(truth, kind="stable")
        else:
            truth = data @ query
            if metric == "CS":
                truth = truth / (np.linalg.norm(data, axis=1) * np.linalg.norm(query))
            order = np.argsort(-truth, kind="stable")
        r, _ = client.query([{"FindDescriptor": {"set": "bf", "k_neighbors": 10, "distances": True,
                                                 "results": {"list": ["i"]}}}], [query.tobytes()])
        ents = r[0]["FindDescriptor"]["entities"]
        assert [e["i"] for e in ents] == order[:10].tolist()
        assert np.allclose([e["_distance"] for e in ents], truth[order[:10]], rtol=1e-5, atol=1e-5)


def test_knn_first_constraints_and_labels(client):
    """knn_first (default true) filters the k nearest by the constraints; false gives the k
    nearest among those that match (docs FindDescriptor); with_label keeps one label."""
    add_set(client, "line", 1)
    q = [{"AddDescriptor": {"set": "line", "label": "odd" if i % 2 else "even", "properties": {"i": i}}}
         for i in range(20)]
    client.query(q, [f32([i]) for i in range(20)])
    knn = {"set": "line", "k_neighbors": 4, "results": {"list": ["i"]}, "constraints": {"i": [">=", 2]}}
    ids = lambda r: [e["i"] for e in r[0]["FindDescriptor"].get("entities", [])]  # noqa: E731
    assert ids(client.query([{"FindDescriptor": knn}], [f32([0])])[0]) == [2, 3]
    sdk_spelling = {**knn, "results": {"list": ["i"], "group_by_source": False}}   # SDK Query.py
    assert ids(client.query([{"FindDescriptor": sdk_spelling}], [f32([0])])[0]) == [2, 3]
    r = client.query([{"FindDescriptor": {**knn, "knn_first": False}}], [f32([0])])[0]
    assert ids(r) == [2, 3, 4, 5]
    r = client.query([{"FindDescriptor": {**knn, "knn_first": False, "with_label": "odd", "labels": True}}],
                     [f32([0])])[0]
    assert strip_ids(r[0]["FindDescriptor"]["entities"]) == [
        {"i": i, "_label": "odd"} for i in (3, 5, 7, 9)]


def test_images_connected_to_nearest_descriptors(client):
    """ImageVectorSearch.ipynb: AddImage + AddDescriptor connected to it in one transaction;
    FindDescriptor k-NN with a _ref, then FindImage is_connected_to that ref finds their
    images; group_by_source keys them by descriptor _uniqueid (SDK Images.py similarity search),
    and the SDK's own FindEntity over the ref works the same."""
    colors = [(250, 0, 0), (240, 10, 10), (0, 0, 250), (0, 250, 0), (200, 30, 30)]
    add_set(client, "colors", 64, metric="CS", engine="HNSW")
    for i, c in enumerate(colors):
        img = jpeg(color=c)
        r, _ = client.query([{"AddImage": {"_ref": 1, "properties": {"i": i}}},
                             {"AddDescriptor": {"set": "colors", "properties": {"i": i},
                                                "connect": {"ref": 1, "class": "has_embedding"}}}],
                            [img, color_histogram(img).tobytes()])
        assert isinstance(r, list), r
    query = color_histogram(jpeg(color=(245, 5, 5))).tobytes()
    r, _ = client.query([
        {"FindDescriptor": {"set": "colors", "k_neighbors": 3, "distances": True, "uniqueids": True, "_ref": 1}},
        {"FindImage": {"is_connected_to": {"ref": 1, "connection_class": "has_embedding"},
                       "group_by_source": True, "results": {"list": ["i"]}}},
        {"FindEntity": {"with_class": "_Image", "is_connected_to": {"ref": 1}, "results": {"list": ["i"]}}}],
        [query])
    descs = r[0]["FindDescriptor"]["entities"]
    groups = r[1]["FindImage"]["entities"]
    reds = [groups[d["_uniqueid"]][0]["i"] for d in descs]
    assert sorted(reds) == [0, 1, 4]
    assert sorted(e["i"] for e in r[2]["FindEntity"]["entities"]) == [0, 1, 4]
    # The examples' own vectors: FindImage -> FindDescriptor is_connected_to, blobs true.
    r, blobs = client.query([{"FindImage": {"_ref": 1, "constraints": {"i": ["==", 3]}}},
                             {"FindDescriptor": {"set": "colors", "is_connected_to": {"ref": 1}, "blobs": True}}])
    assert r[1]["FindDescriptor"]["returned"] == 1
    assert np.frombuffer(blobs[0], np.float32).argmax() == color_histogram(jpeg(color=(0, 250, 0))).argmax()


def test_descriptor_sets_and_schema(client):
    """FindDescriptorSet flags (docs example reply `_engines`, `_metrics`; workflows
    `_dimensions`, `_count`), the SDK's Utils helpers, a second AddDescriptorSet of a name is
    the documented conditional add, and GetSchema lists the classes and the set->descriptor
    connection (SDK Utils DESCRIPTOR_CONNECTION_CLASS)."""
    add_set(client, "a", 2, metric=["CS", "L2"], engine=["Flat"], properties={"year_created": 2020})
    add_set(client, "b", 3)
    client.query([{"AddDescriptor": {"set": "a"}}, {"AddDescriptor": {"set": "a"}}], [f32([1, 0]), f32([0, 1])])
    r, _ = client.query([{"FindDescriptorSet": {"with_name": "a", "metrics": True, "engines": True,
                                                "dimensions": True, "counts": True,
                                                "results": {"list": ["year_created"]}}}])
    assert r == [{"FindDescriptorSet": {"status": 0, "returned": 1, "entities": [
        {"year_created": 2020, "_engines": ["Flat"], "_metrics": ["CS", "L2"], "_dimensions": 2, "_count": 2}]}}]
    r, _ = client.query([{"AddDescriptorSet": {"name": "a", "dimensions": 9}}])
    assert r == [{"AddDescriptorSet": {"status": 2, "info": "Object Exists!"}}]
    utils = Utils(client)
    assert sorted(utils.get_descriptorset_list()) == ["a", "b"]
    assert utils.count_descriptorsets() == 2 and utils.count_descriptors_in_set("a") == 2
    r, _ = client.query([{"GetSchema": {}}])
    schema = r[0]["GetSchema"]
    assert schema["entities"]["classes"]["_Descriptor"]["matched"] == 2
    assert schema["entities"]["classes"]["_DescriptorSet"]["matched"] == 2
    conn = schema["connections"]["classes"]["_DescriptorSetToDescriptor"]
    assert (conn["src"], conn["dst"], conn["matched"]) == ("_DescriptorSet", "_Descriptor", 2)
    assert utils.remove_all_objects()   # DeleteDescriptorSet & co. leave an empty schema


@pytest.mark.parametrize("cmds, blobs, text", [
    ([{"AddDescriptor": {"set": "nope"}}], [f32([1, 2])], "DescriptorSet 'nope' does not exist"),
    ([{"AddDescriptor": {"set": "s"}}], [f32([1, 2, 3])], "has 2 dimensions"),
    ([{"FindDescriptor": {"set": "nope", "k_neighbors": 1}}], [f32([1, 2])], "does not exist"),
    ([{"FindDescriptor": {"set": "s", "k_neighbors": 1}}], [f32([1])], "has 2 dimensions"),
    ([{"FindDescriptor": {"k_neighbors": 1}}], [f32([1, 2])], "'k_neighbors' needs 'set'"),
    ([{"FindDescriptor": {"set": "s", "k_neighbors": 1, "metric": "IP"}}], [f32([1, 2])], "has no metric 'IP'"),
    ([{"FindDescriptor": {"set": "s", "k_neighbors": 1, "ids": True}}], [f32([1, 2])], "unknown parameter 'ids'"),
    ([{"FindDescriptor": {"set": "s", "k_neighbors": 1, "batch": {}}}], [f32([1, 2])], "'batch' with 'k_neighbors'"),
    ([{"AddDescriptorSet": {"name": "t", "dimensions": 2, "metric": "COS"}}], [], "unsupported metric 'COS'"),
    ([{"AddDescriptorSet": {"name": "t", "dimensions": 2, "engine": "Annoy"}}], [], "unsupported engine"),
    ([{"AddDescriptorSet": {"name": "t", "dimensions": 0}}], [], "'dimensions' must be a positive"),
])
def test_errors_fail_and_roll_back(client, cmds, blobs, text):
    """Unknown sets, wrong dimensions and bad metrics fail the transaction: one object
    {status -1, info, FailedCommand}; what the transaction added before is undone."""
    add_set(client, "s", 2)
    first = [{"AddDescriptor": {"set": "s", "properties": {"n": 1}}},
             {"AddDescriptorSet": {"name": "u", "dimensions": 1}}]
    r, _ = client.query(first + cmds, [f32([1, 1])] + blobs)
    assert isinstance(r, dict) and r["status"] == -1 and text in r["info"], r
    assert r["FailedCommand"] == cmds[0]
    r, _ = client.query([{"FindDescriptor": {"results": {"count": True}}},
                         {"FindDescriptorSet": {"results": {"count": True}}}])
    assert r[0]["FindDescriptor"]["count"] == 0 and r[1]["FindDescriptorSet"]["count"] == 1
    r, _ = client.query([{"FindDescriptor": {"set": "s", "k_neighbors": 5, "results": {"count": True}}}],
                        [f32([1, 1])])
    assert r[0]["FindDescriptor"]["count"] == 0   # the rolled-back vector is not searched


def test_deleted_descriptors_are_not_found(client):
    """Descriptors deleted by DeleteEntity (the SDK's Utils.remove_entities) or DeleteDescriptor
    are no longer neighbours; a rolled-back delete brings them back."""
    add_set(client, "s", 1)
    client.query([{"AddDescriptor": {"set": "s", "properties": {"i": i}}} for i in range(5)],
                 [f32([i]) for i in range(5)])
    near = [{"FindDescriptor": {"set": "s", "k_neighbors": 2, "results": {"list": ["i"]}}}]
    ids = lambda: [e["i"] for e in client.query(near, [f32([0])])[0][0]["FindDescriptor"]["entities"]]  # noqa
    r, _ = client.query([{"DeleteEntity": {"with_class": "_Descriptor", "constraints": {"i": ["==", 0]}}}])
    assert r[0]["DeleteEntity"]["count"] == 1 and ids() == [1, 2]
    r, _ = client.query([{"DeleteDescriptor": {"constraints": {"i": ["==", 1]}}},
                         {"AddDescriptor": {"set": "nope"}}], [f32([0])])
    assert r["status"] == -1 and ids() == [1, 2]
    client.query([{"DeleteDescriptor": {"constraints": {"i": ["==", 1]}}}])
    assert ids() == [2, 3]


@emulator_only
def test_color_descriptors_persist(tmp_path):
    """add_color_descriptors gives every image its colour histogram once (a second call adds
    none); a restarted emulator with a data directory answers the same k-NN."""
    with EmulatorServer(data_dir=str(tmp_path)) as srv:
        c = connect(srv)
        for i, color in enumerate([(255, 0, 0), (0, 0, 255), (250, 20, 0)]):
            c.query([{"AddImage": {"properties": {"i": i}}}], [jpeg(color=color)])
        assert add_color_descriptors(c, "colors") == 3 and add_color_descriptors(c, "colors") == 0
        query = [{"FindDescriptor": {"set": "colors", "k_neighbors": 2, "distances": True, "_ref": 1}},
                 {"FindImage": {"is_connected_to": {"ref": 1}, "results": {"list": ["i"]}}}]
        before, _ = c.query(query, [color_histogram(jpeg(color=(255, 0, 0))).tobytes()])
        assert sorted(e["i"] for e in before[1]["FindImage"]["entities"]) == [0, 2]
    with EmulatorServer(data_dir=str(tmp_path)) as srv:
        after, _ = connect(srv).query(query, [color_histogram(jpeg(color=(255, 0, 0))).tobytes()])
    assert after == before
