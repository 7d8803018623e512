"""Which of the matching images a sync imports: all of them, those similar to examples, or a sample.

Pure (no database, no network): the ApertureDB commands of a similarity search and their replies as
plain data, the stable sample, and the merge of k-NN results. ``source/selecting.py`` runs them.

Similar to examples follows the SDK's own ``Images.get_similar_images`` (aperture-data/aperturedb-python
aperturedb/Images.py): the example's vector is read with ``FindImage`` (``_ref``) + ``FindDescriptor``
``{set, is_connected_to: {ref}, blobs: true}``; the neighbours with ``FindDescriptor`` ``{set,
k_neighbors, distances: true, uniqueids: true, _ref}`` on that vector, then ``FindImage``
``{is_connected_to: {ref}, group_by_source: true}``: images keyed by their descriptor's ``_uniqueid``,
since the images do not come back in distance order (the SDK's comment). Replies: ``_distance`` and
``_uniqueid`` per descriptor, nearest first (Cookbook notebooks/simple/VectorSearch.ipynb,
Embeddings.ipynb, ImageVectorSearch.ipynb). "Nearest" depends on the set's metric, read with
``FindDescriptorSet {with_name, metrics: true}`` -> ``entities[0]._metrics[0]`` (SDK
aperturedb/Descriptors.py ``_descriptorset_metric``): L2 is a distance (smaller is nearer), CS and IP
are similarities (larger is nearer; SDK ``Descriptors._vector_similarity``; VectorSearch.ipynb shows CS
values falling from the nearest).
"""
import hashlib
from dataclasses import dataclass

MODES = ("all", "similar", "sample")
SIMILARITY_METRICS = {"CS", "IP"}  # larger _distance = nearer
DISTANCE_METRICS = {"L2"}  # smaller _distance = nearer
MAX_NEIGHBORS = 100_000  # widest k-NN one example may need (examples' own and known images skipped)


class SelectionProblem(Exception):
    """A selection that cannot run as configured (unknown set, example without a descriptor...)."""


@dataclass(frozen=True)
class Selection:
    mode: str = "all"
    descriptor_set: str = ""
    k: int = 10
    examples: tuple = ()  # image _uniqueid, in the order given
    distance_field: str = "distance"
    fraction: float = None
    count: int = None
    seed: int = 0

    @classmethod
    def for_storage(cls, storage, examples=(), k=None):
        """The storage's selection; ``examples`` are image ids already resolved from the storage's images
        and tasks (see ``selecting.example_images``); ``k`` overrides the storage's (Data Manager action)."""
        return cls(mode=storage.selection or "all", descriptor_set=storage.similar_set or "",
                   k=int(k or storage.similar_k or 10), examples=tuple(dict.fromkeys(examples)),
                   distance_field=storage.distance_field or "distance", fraction=storage.sample_fraction,
                   count=storage.sample_count, seed=storage.sample_seed or 0)


# ------------------------------------------------------------------ sample
def sample_key(seed, uid):
    """A number in [0, 1) fixed by (seed, image id): the image's place in the seed's random order.
    SHA-256, not ``hash()``: the same in every process and Python version."""
    digest = hashlib.sha256(f"{int(seed)}\x00{uid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def in_fraction(uid, seed, fraction):
    """Whether ``uid`` is in the ``fraction`` sample: a larger fraction keeps every image a smaller one
    kept (a superset), whatever else is in the storage."""
    return sample_key(seed, uid) < fraction


def pick_count(uids, seed, count):
    """The ``count`` images of ``uids`` first in the seed's order (a larger count: a superset), in that order."""
    return sorted(set(uids), key=lambda uid: (sample_key(seed, uid), uid))[:count]


# ------------------------------------------------------------------ similar: commands
def metric_query(descriptor_set):
    return [{"FindDescriptorSet": {"with_name": descriptor_set, "metrics": True}}]


def parse_metric(response, descriptor_set):
    entities = response[0]["FindDescriptorSet"].get("entities") or []
    if not entities:
        raise SelectionProblem(f"ApertureDB has no descriptor set named {descriptor_set!r}")
    metrics = entities[0].get("_metrics") or []
    metric = metrics[0] if isinstance(metrics, list) and metrics else metrics
    if metric not in SIMILARITY_METRICS | DISTANCE_METRICS:
        raise SelectionProblem(f"descriptor set {descriptor_set!r} uses metric {metric!r}; "
                               "similarity search knows L2, CS and IP")
    return metric


def vector_query(descriptor_set, uid):
    """The example image's descriptor(s) in the set, with their vectors as blobs."""
    return [{"FindImage": {"_ref": 1, "constraints": {"_uniqueid": ["==", uid]}, "blobs": False}},
            {"FindDescriptor": {"set": descriptor_set, "is_connected_to": {"ref": 1}, "blobs": True,
                                "uniqueids": True}}]


def parse_vectors(response, blobs):
    reply = response[1]["FindDescriptor"]
    start = reply.get("blobs_start", 0)
    entities = reply.get("entities") or []
    if entities and all("_blob_index" in e for e in entities):
        return [blobs[e["_blob_index"]] for e in entities]
    return list(blobs[start:])


def knn_query(descriptor_set, neighbors, constraints=None):
    """The ``neighbors`` nearest descriptors to the query blob, and the images connected to them (only
    images the storage's constraints select), grouped by descriptor."""
    images = {"is_connected_to": {"ref": 1}, "group_by_source": True, "results": {"list": ["_uniqueid"]}}
    if constraints:
        images["constraints"] = constraints
    return [{"FindDescriptor": {"_ref": 1, "set": descriptor_set, "k_neighbors": int(neighbors),
                                "distances": True, "uniqueids": True, "blobs": False}},
            {"FindImage": images}]


@dataclass(frozen=True)
class Neighbors:
    images: list  # [(image uid, distance)], nearest first, each image once
    exhausted: bool  # ApertureDB returned fewer descriptors than asked: the set has no more


def parse_knn(response, neighbors):
    descriptors = response[0]["FindDescriptor"].get("entities") or []
    groups = response[1]["FindImage"].get("entities") or {}
    if not isinstance(groups, dict):
        groups = {}
    images, seen = [], set()
    for descriptor in descriptors:  # ApertureDB answers nearest first
        for image in groups.get(descriptor.get("_uniqueid"), ()):
            uid = image.get("_uniqueid")
            if uid is not None and uid not in seen:
                seen.add(uid)
                images.append((uid, descriptor.get("_distance")))
    return Neighbors(images, len(descriptors) < neighbors)


# ------------------------------------------------------------------ similar: merging
def nearer(metric):
    """``better(a, b)``: distance ``a`` is nearer than ``b`` under ``metric``."""
    if metric in SIMILARITY_METRICS:
        return lambda a, b: a > b
    return lambda a, b: a < b


def eligible(neighbors, skip, k):
    """The first ``k`` images of one example's neighbours that are not in ``skip``."""
    return [(uid, distance) for uid, distance in neighbors if uid not in skip][:k]


def merge(per_example, metric):
    """Union of every example's images, each with its distance to the nearest example, nearest first
    (ties by image id, so the order is stable)."""
    better = nearer(metric)
    best = {}
    for images in per_example:
        for uid, distance in images:
            if uid not in best or (distance is not None and (best[uid] is None or better(distance, best[uid]))):
                best[uid] = distance
    sign = -1 if metric in SIMILARITY_METRICS else 1
    return sorted(best.items(), key=lambda item: (item[1] is None, sign * (item[1] or 0), item[0]))


def next_width(width, k):
    """How many neighbours to ask for next when the last ``width`` held fewer than ``k`` usable images."""
    return min(max(width * 4, 2 * k + 1), MAX_NEIGHBORS)
