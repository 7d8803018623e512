"""Table tests of the pure selection logic: the stable sample, the k-NN replies as ApertureDB records them
(Cookbook VectorSearch.ipynb / Embeddings.ipynb shapes), and the merge of several examples' neighbours."""
import pytest

from ls_aperturedb.source import selection as sel

UIDS = [f"7.3.{n}" for n in range(2000)]


def test_sample_key_is_stable_and_uniform():
    assert sel.sample_key(1, "7.3.157380") == sel.sample_key(1, "7.3.157380")
    assert sel.sample_key(1, "7.3.157380") != sel.sample_key(2, "7.3.157380")
    keys = [sel.sample_key(0, uid) for uid in UIDS]
    assert all(0 <= key < 1 for key in keys)
    assert 0.45 < sum(keys) / len(keys) < 0.55


@pytest.mark.parametrize("small,large", [(0.1, 0.2), (0.05, 0.5), (0.5, 1.0)])
def test_a_larger_fraction_is_a_superset(small, large):
    a = {uid for uid in UIDS if sel.in_fraction(uid, 3, small)}
    b = {uid for uid in UIDS if sel.in_fraction(uid, 3, large)}
    assert a < b
    assert abs(len(a) - small * len(UIDS)) < 0.05 * len(UIDS)


def test_a_larger_count_is_a_superset_and_seeds_differ():
    assert set(sel.pick_count(UIDS, 7, 100)) < set(sel.pick_count(UIDS, 7, 300))
    assert sel.pick_count(UIDS, 7, 100) == sel.pick_count(list(reversed(UIDS)), 7, 100)  # order-free
    assert set(sel.pick_count(UIDS, 7, 100)) != set(sel.pick_count(UIDS, 8, 100))
    assert len(sel.pick_count(UIDS[:5], 7, 100)) == 5


def test_a_count_sample_keeps_its_images_when_others_are_added():
    before = sel.pick_count(UIDS[:1000], 1, 50)
    after = sel.pick_count(UIDS, 1, 100)
    kept = set(before) & set(after)
    assert len(kept) >= 20  # the added images compete only for their share of the places


def _knn_reply(descriptors, groups):
    return [{"FindDescriptor": {"entities": descriptors, "returned": len(descriptors), "status": 0}},
            {"FindImage": {"entities": groups, "returned": sum(map(len, groups.values())), "status": 0}}]


def test_parse_knn_keeps_the_distance_order_and_one_entry_per_image():
    reply = _knn_reply(
        [{"_distance": 0.0, "_uniqueid": "d1"}, {"_distance": 0.5, "_uniqueid": "d2"},
         {"_distance": 0.7, "_uniqueid": "d3"}, {"_distance": 0.9, "_uniqueid": "d4"}],
        {"d3": [{"_uniqueid": "i3"}], "d1": [{"_uniqueid": "i1"}], "d2": [{"_uniqueid": "i1"}],
         "d4": []})  # d4's image fails the storage's constraints
    found = sel.parse_knn(reply, 4)
    assert found.images == [("i1", 0.0), ("i3", 0.7)]
    assert not found.exhausted
    assert sel.parse_knn(reply, 10).exhausted


def test_parse_knn_of_no_match():
    reply = [{"FindDescriptor": {"returned": 0, "status": 0}}, {"FindImage": {"returned": 0, "status": 0}}]
    assert sel.parse_knn(reply, 5) == sel.Neighbors([], True)


@pytest.mark.parametrize("metric,first", [("L2", "a"), ("CS", "c"), ("IP", "c")])
def test_merge_takes_the_nearest_example_per_image(metric, first):
    per_example = [[("a", 0.1), ("b", 0.5)], [("c", 0.9), ("b", 0.2)]]
    merged = dict(sel.merge(per_example, metric))
    assert merged["b"] == (0.2 if metric == "L2" else 0.5)
    assert sel.merge(per_example, metric)[0][0] == first


def test_eligible_skips_known_images_and_keeps_k():
    neighbors = [("a", 0.1), ("b", 0.2), ("c", 0.3), ("d", 0.4)]
    assert sel.eligible(neighbors, {"a", "c"}, 2) == [("b", 0.2), ("d", 0.4)]
    assert sel.eligible(neighbors, set(), 10) == neighbors


def test_metric_reply():
    reply = [{"FindDescriptorSet": {"entities": [{"_metrics": ["CS"], "_name": "s"}], "returned": 1, "status": 0}}]
    assert sel.parse_metric(reply, "s") == "CS"
    with pytest.raises(sel.SelectionProblem, match="no descriptor set named 'nope'"):
        sel.parse_metric([{"FindDescriptorSet": {"returned": 0, "status": 0}}], "nope")


def test_vectors_follow_blob_indexes():
    reply = [{"FindImage": {"returned": 0, "status": 0}},
             {"FindDescriptor": {"blobs_start": 0, "entities": [{"_blob_index": 1, "_uniqueid": "x"},
                                                                {"_blob_index": 0, "_uniqueid": "y"}],
                                 "returned": 2, "status": 0}}]
    assert sel.parse_vectors(reply, [b"v0", b"v1"]) == [b"v1", b"v0"]


def test_widening_grows_and_stops():
    assert sel.next_width(21, 10) == 84
    assert sel.next_width(sel.MAX_NEIGHBORS, 10) == sel.MAX_NEIGHBORS
