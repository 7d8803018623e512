"""Runs a storage's selection (``selection``) against ApertureDB for the import sync and the preview.

The sync pages through image ids (``importer.Listing``); a selection replaces those pages:
``sample`` with a fraction filters each page by the stable hash; ``sample`` with a count, and
``similar``, compute their list of ids once (the count needs every matching id; the neighbours are
searched until each example has ``k`` images that are new to the storage) and serve it in pages of the
same size. ``extras(uid)`` adds per-image task data (the distance to the nearest example).
"""
import logging

from ls_aperturedb.source import selection as sel
from ls_aperturedb.source.mapping import parse_uri

logger = logging.getLogger(__name__)


def example_images(storage, task_ids=(), uids=()):
    """Image ids of the examples: ``uids`` given as they are, and the images of ``task_ids`` (tasks of
    the storage's project whose data holds an ``aperturedb://`` URI of this storage, or of another
    ApertureDB source storage of the project on the same server). Raises ``SelectionProblem`` naming a
    task that is not of the project or shows no such image."""
    from tasks.models import Task

    from ls_aperturedb.models import ApertureDBImportStorage

    found = [str(u) for u in uids if str(u).strip()]
    if not task_ids:
        return found
    server = _server(storage)
    same_server = {s.id for s in ApertureDBImportStorage.objects.filter(project_id=storage.project_id)
                   if _server(s) == server} | {storage.id}
    tasks = dict(Task.objects.filter(project_id=storage.project_id, id__in=list(task_ids)).values_list("id", "data"))
    for task_id in task_ids:
        if task_id not in tasks:
            raise sel.SelectionProblem(f"task {task_id} is not a task of this project")
        uid = next((parsed[1] for parsed in map(parse_uri, (tasks[task_id] or {}).values())
                    if parsed and parsed[0] in same_server), None)
        if uid is None:
            raise sel.SelectionProblem(f"task {task_id} shows no image of this ApertureDB")
        found.append(uid)
    return list(dict.fromkeys(found))


def linked_in_project(storage, uids):
    """Which of ``uids`` the project already has from this ApertureDB: linked (as a task, or as the
    tombstone of a deleted one) by this storage or another source storage of the project on the same server."""
    from ls_aperturedb.models import ApertureDBImportStorage, ApertureDBImportStorageLink

    server = _server(storage)
    storages = [s.id for s in ApertureDBImportStorage.objects.filter(project_id=storage.project_id)
                if s.id == storage.id or _server(s) == server]
    return set(ApertureDBImportStorageLink.objects.filter(storage_id__in=storages, key__in=list(uids))
               .values_list("key", flat=True))


def _server(storage):
    return storage.aperturedb_key or f"{storage.hostname.strip().lower()}:{storage.port}"


def selection_for(storage, override=None):
    """The storage's selection, or the one a Data Manager action asked for (``override``:
    ``{"tasks": [ids], "k": n, "set": name}``: similar to those tasks' images)."""
    if override:
        storage.selection = "similar"
        storage.similar_set = override.get("set") or storage.similar_set
        examples = example_images(storage, override.get("tasks") or (), override.get("images") or ())
        return sel.Selection.for_storage(storage, examples, k=override.get("k"))
    if (storage.selection or "all") != "similar":
        return sel.Selection.for_storage(storage)
    return sel.Selection.for_storage(storage, example_images(storage, storage.similar_tasks or (),
                                                             storage.similar_images or ()))


def listing_for(selection, base, pool, constraints, batch_size, known):
    """The pages a sync reads: ``base`` (the whole matching listing) or the selection's.
    ``known(uids)`` answers which of ``uids`` the storage has linked already (its tasks and tombstones)."""
    if selection.mode == "sample" and selection.fraction is not None:
        return FractionListing(base, selection)
    if selection.mode == "sample" and selection.count is not None:
        return ComputedListing(lambda: [(uid, None) for uid in pick_sample(base, selection)], batch_size, None)
    if selection.mode == "similar":
        return ComputedListing(lambda: similar_images(pool, selection, constraints, known), batch_size,
                               selection.distance_field)
    return PlainListing(base)


class PlainListing:
    def __init__(self, base):
        self.base = base

    def page(self, number):
        return self.base.page(number)

    def page_count(self):
        return self.base.page_count()

    def extras(self, uid):
        return {}


class FractionListing(PlainListing):
    """The base pages, each filtered to the images in the sample (one pass, no list kept)."""

    def __init__(self, base, selection):
        super().__init__(base)
        self.seed, self.fraction = selection.seed, selection.fraction

    def page(self, number):
        uids, last = self.base.page(number)
        return [uid for uid in uids if sel.in_fraction(uid, self.seed, self.fraction)], last


class ComputedListing:
    """A list of ``(uid, distance)`` computed on the first page (in the sync's own thread) and served in
    pages of ``batch_size``."""

    def __init__(self, compute, batch_size, distance_field):
        self.compute, self.batch_size, self.distance_field = compute, batch_size, distance_field
        self.images, self.distances = None, {}

    def page(self, number):
        if self.images is None:
            chosen = self.compute()
            self.images = [uid for uid, _ in chosen]
            self.distances = {uid: distance for uid, distance in chosen if distance is not None}
        start = number * self.batch_size
        return self.images[start:start + self.batch_size], start + self.batch_size >= len(self.images)

    def page_count(self):
        return None if self.images is None else max(1, -(-len(self.images) // self.batch_size))

    def extras(self, uid):
        if self.distance_field and uid in self.distances:
            return {self.distance_field: self.distances[uid]}
        return {}


def pick_sample(base, selection):
    uids, number = [], 0
    while True:
        page, last = base.page(number)
        uids.extend(page)
        if last:
            return sel.pick_count(uids, selection.seed, selection.count)
        number += 1


def similar_images(pool, selection, constraints, known):
    """``[(uid, distance to the nearest example)]``, nearest first: for each example, its ``k`` nearest
    images that the constraints select and that are neither an example nor known to the storage."""
    if not selection.descriptor_set:
        raise sel.SelectionProblem("similar to examples needs a descriptor set (similar_set)")
    if not selection.examples:
        raise sel.SelectionProblem("similar to examples needs example images or tasks")
    metric = sel.parse_metric(pool.query(sel.metric_query(selection.descriptor_set))[0], selection.descriptor_set)
    examples = set(selection.examples)
    per_example = []
    for uid in selection.examples:
        response, blobs = pool.query(sel.vector_query(selection.descriptor_set, uid))
        vectors = sel.parse_vectors(response, blobs)
        if not vectors:
            raise sel.SelectionProblem(f"example image {uid} has no descriptor in set {selection.descriptor_set!r} "
                                       "(or is not in ApertureDB)")
        for vector in vectors:
            per_example.append(_nearest(pool, selection, constraints, vector, examples, known))
    return sel.merge(per_example, metric)


def _nearest(pool, selection, constraints, vector, examples, known):
    """The ``k`` nearest usable images to ``vector``, widening the search until there are ``k`` of them
    or the set holds no more."""
    width, k = 2 * selection.k + 1, selection.k
    while True:
        response, _ = pool.query(sel.knn_query(selection.descriptor_set, width, constraints), [vector])
        found = sel.parse_knn(response, width)
        candidates = [uid for uid, _ in found.images if uid not in examples]
        skip = examples | set(known(candidates))
        chosen = sel.eligible(found.images, skip, k)
        if len(chosen) >= k or found.exhausted or width >= sel.MAX_NEIGHBORS:
            return chosen
        width = sel.next_width(width, k)


def preview(storage, pool, base_ids=None, limit=None):
    """``(the first ``limit`` ids the selection would import, how many it would import)`` for the wizard's
    preview; ``base_ids`` iterates over every matching id (default: offset pages of FindImage)."""
    selection = selection_for(storage)
    if base_ids is None:
        base_ids = _matching_ids(storage, pool)
    if selection.mode == "sample" and selection.fraction is not None:
        chosen = [uid for uid in base_ids if sel.in_fraction(uid, selection.seed, selection.fraction)]
    elif selection.mode == "sample" and selection.count is not None:
        chosen = sel.pick_count(list(base_ids), selection.seed, selection.count)
    elif selection.mode == "similar":
        known = (lambda uids: linked_in_project(storage, uids)) if storage.project_id else (lambda uids: set())
        chosen = [uid for uid, _ in similar_images(pool, selection, dict(storage.constraints or {}), known)]
    else:
        chosen = list(base_ids)
    if storage.limit is not None:
        chosen = chosen[:storage.limit]
    return chosen[:limit], len(chosen)


def selected_preview(storage, pool):
    """``preview`` of a storage whose selection is not "all" (else ``None``): the preview then shows the
    selection's first images and counts what it would import."""
    if (storage.selection or "all") == "all":
        return None
    return preview(storage, pool)


def _matching_ids(storage, pool, page=1000):
    from ls_aperturedb.source.query import ImageQuery, parse_ids

    query, offset = ImageQuery.for_storage(storage), 0
    while True:
        uids = parse_ids(pool.query(query.ids(offset, page))[0])
        yield from uids
        if len(uids) < page:
            return
        offset += page


SELECTION_FIELDS = ("selection", "similar_set", "similar_k", "similar_images", "similar_tasks", "distance_field",
                    "sample_fraction", "sample_count", "sample_seed")


def selection_errors(data, existing, project):
    """``{field: [reason]}`` for the selection settings the storage would have after this request
    (``data`` over ``existing``), checked before anything is saved or synced."""
    from ls_aperturedb.models import ApertureDBImportStorage

    fields = {name: ApertureDBImportStorage._meta.get_field(name) for name in SELECTION_FIELDS}
    values = {name: data[name] if name in data else
              getattr(existing, name) if existing is not None else fields[name].get_default()
              for name in SELECTION_FIELDS}
    mode, errors = values["selection"] or "all", {}
    if mode == "similar":
        if not (values["similar_set"] or "").strip():
            errors["similar_set"] = ["name the descriptor set to search (similar to examples)"]
        if not values["similar_k"] or values["similar_k"] < 1:
            errors["similar_k"] = ["k must be at least 1"]
        images, tasks = values["similar_images"] or [], values["similar_tasks"] or []
        if not isinstance(images, list) or not all(isinstance(u, str) and u.strip() for u in images):
            errors["similar_images"] = ["must be a list of ApertureDB image ids (_uniqueid strings)"]
        if not isinstance(tasks, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in tasks):
            errors["similar_tasks"] = ["must be a list of task ids (numbers)"]
        elif tasks and project is not None:
            from tasks.models import Task

            mine = set(Task.objects.filter(project=project, id__in=tasks).values_list("id", flat=True))
            foreign = [t for t in tasks if t not in mine]
            if foreign:
                errors["similar_tasks"] = [f"task {foreign[0]} is not a task of this project"]
        if not images and not tasks and "similar_images" not in errors and "similar_tasks" not in errors:
            errors["similar_images"] = ["give example images (similar_images) or example tasks (similar_tasks)"]
        if not (values["distance_field"] or "").strip():
            errors["distance_field"] = ["name the task data field that receives the distance"]
    if mode == "sample":
        fraction, count = values["sample_fraction"], values["sample_count"]
        if (fraction is None) == (count is None):
            errors["sample_fraction"] = ["a sample takes either a fraction (sample_fraction) or a count (sample_count)"]
        elif fraction is not None and not 0 < fraction <= 1:
            errors["sample_fraction"] = [f"a fraction is more than 0 and at most 1 (got {fraction})"]
        elif count is not None and count < 1:
            errors["sample_count"] = ["a count is at least 1"]
    return errors
