"""Selection through the HTTP API and a real Celery worker: similar to examples (k-NN over colour-histogram
descriptors of generated images, so "similar" is checkable by eye: the share of red in an image), the
stable sample, the preview, bad settings (400 on the field, or a failed sync that says why), and the Data
Manager action "Import similar from ApertureDB"."""
import io

import pytest
from PIL import Image

from aperturedb_emulator.embeddings import add_color_descriptors
from aperturedb_emulator.seed import seed
from tests.fixtures.labelstudio import make_project
from tests.source_helpers import API, add_image, create, sync, wait_status

pytestmark = pytest.mark.django_db(transaction=True)
SET = "image_colors"
ACTION = "import_similar_from_aperturedb"


def two_colour_png(red_rows, size=40):
    """``red_rows`` of ``size`` rows red, the rest blue: its colour histogram is (red share, blue share)."""
    img = Image.new("RGB", (size, size), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, size, red_rows))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def reds(adb):
    """Images with 0, 2, ... 40 red rows of 40 (keyed by that number), each with its colour descriptor in
    ``image_colors`` (L2): the nearest images to the one with r red rows are r±2, r±4..."""
    uids = {red: add_image(adb, {"red": red, "width": 40, "height": 40}, blob=two_colour_png(red))
            for red in range(0, 41, 2)}
    conn = adb.connector()
    try:
        assert add_color_descriptors(conn, SET) == len(uids)
    finally:
        conn.close()
    return uids


def _reds_in(project, reds):
    by_uid = {uid: red for red, uid in reds.items()}
    return sorted(by_uid[t.data["image"].rsplit("/", 1)[1]] for t in project.tasks.all())


def _run(api, project, storage_id):
    sync(api, storage_id)
    done = wait_status(api, project, storage_id, {"completed", "failed"})
    assert done["status"] == "completed", done["traceback"]
    return done


def test_similar_imports_the_k_nearest_new_images_with_their_distance(api, project, adb, reds, celery_worker):
    storage = create(api, project, adb, selection="similar", similar_set=SET, similar_k=3,
                     similar_images=[reds[0]], distance_field="dist", properties=["red"])
    done = _run(api, project, storage["id"])
    assert _reds_in(project, reds) == [2, 4, 6]  # the example itself is not imported
    assert done["meta"]["tasks_created"] == 3
    distance = {t.data["red"]: t.data["dist"] for t in project.tasks.all()}
    assert 0 < distance[2] < distance[4] < distance[6]  # each image's own distance, for sorting in the Data Manager

    _run(api, project, storage["id"])  # again: the next nearest, since images already in the project are skipped
    assert _reds_in(project, reds) == [2, 4, 6, 8, 10, 12]


def test_similar_to_several_examples_is_their_union_within_the_constraints(api, project, adb, reds, celery_worker):
    storage = create(api, project, adb, selection="similar", similar_set=SET, similar_k=2,
                     similar_images=[reds[0], reds[40]], constraints={"red": ["!=", 2]})
    _run(api, project, storage["id"])
    assert _reds_in(project, reds) == [4, 6, 36, 38]  # 2 is not selected by the constraints


def test_examples_as_tasks_of_the_project(api, project, adb, reds, celery_worker):
    examples = create(api, project, adb, title="examples", constraints={"red": ["in", [20]]})
    _run(api, project, examples["id"])
    task = project.tasks.get()
    storage = create(api, project, adb, selection="similar", similar_set=SET, similar_k=2, similar_tasks=[task.id])
    _run(api, project, storage["id"])
    assert _reds_in(project, reds) == [18, 20, 22]


def test_a_sample_is_stable_grows_as_a_superset_and_depends_on_the_seed(api, user, project, adb, emulator_only,
                                                                        celery_worker):
    seed(emulator_only, 400)
    storage = create(api, project, adb, selection="sample", sample_fraction=0.1, sample_seed=7, include_regions=False)
    _run(api, project, storage["id"])
    first = {t.data["image"].rsplit("/", 1)[1] for t in project.tasks.all()}
    assert 20 <= len(first) <= 60

    preview = api.post(f"{API}/files", {"id": storage["id"], "project": project.id},
                       content_type="application/json").json()
    assert preview["count"] == 400 and preview["import_count"] == len(first)  # what the sync would import
    assert {f["key"] for f in preview["files"] if f["key"]} <= first and len(preview["files"]) >= 10

    response = api.patch(f"{API}/{storage['id']}", {"sample_fraction": 0.3}, content_type="application/json")
    assert response.status_code == 200, response.content
    _run(api, project, storage["id"])
    larger = {t.data["image"].rsplit("/", 1)[1] for t in project.tasks.all()}
    assert first < larger and 90 <= len(larger) <= 150

    again, other = make_project(user, title="same seed"), make_project(user, title="other seed")
    same = create(api, again, adb, selection="sample", sample_fraction=0.1, sample_seed=7, include_regions=False)
    different = create(api, other, adb, selection="sample", sample_fraction=0.1, sample_seed=8,
                       include_regions=False)
    _run(api, again, same["id"])
    _run(api, other, different["id"])
    assert {t.data["image"].rsplit("/", 1)[1] for t in again.tasks.all()} == first
    assert {t.data["image"].rsplit("/", 1)[1] for t in other.tasks.all()} != first

    counted = make_project(user, title="count")
    by_count = create(api, counted, adb, selection="sample", sample_count=25, include_regions=False)
    _run(api, counted, by_count["id"])
    assert counted.tasks.count() == 25


@pytest.mark.parametrize("fields,field,reason", [
    ({"selection": "similar", "similar_images": ["1.0.1"]}, "similar_set", "descriptor set"),
    ({"selection": "similar", "similar_set": SET}, "similar_images", "example"),
    ({"selection": "similar", "similar_set": SET, "similar_images": ["x"], "similar_k": 0}, "similar_k", "at least 1"),
    ({"selection": "similar", "similar_set": SET, "similar_tasks": [999999]}, "similar_tasks", "not a task of this"),
    ({"selection": "sample"}, "sample_fraction", "either a fraction"),
    ({"selection": "sample", "sample_fraction": 0.5, "sample_count": 3}, "sample_fraction", "either a fraction"),
    ({"selection": "sample", "sample_fraction": 1.5}, "sample_fraction", "at most 1"),
    ({"selection": "everything"}, "selection", ""),
])
def test_bad_selection_is_refused_naming_the_field(api, project, adb, fields, field, reason):
    body = {"project": project.id, "title": "bad", **adb.storage_fields(), **fields}
    response = api.post(API, body, content_type="application/json")
    assert response.status_code == 400, response.content
    errors = response.json()["validation_errors"]
    assert field in errors and reason in " ".join(errors[field]), errors


def test_a_similar_sync_without_the_set_fails_with_a_readable_status(api, project, adb, reds, celery_worker):
    storage = create(api, project, adb, selection="similar", similar_set="no_such_set", similar_images=[reds[0]])
    sync(api, storage["id"])
    done = wait_status(api, project, storage["id"], {"completed", "failed"})
    assert done["status"] == "failed" and "no_such_set" in done["traceback"], done
    assert project.tasks.count() == 0


def _action(client, project, body):
    return client.post(f"/api/dm/actions?id={ACTION}&project={project.id}", body, content_type="application/json")


def test_data_manager_action_imports_the_nearest_images_of_the_selected_tasks(api, other_api, project, adb, reds,
                                                                             celery_worker):
    examples = create(api, project, adb, title="examples", constraints={"red": ["in", [10, 30]]})
    _run(api, project, examples["id"])
    chosen = list(project.tasks.values_list("id", flat=True))
    similar = create(api, project, adb, title="similar", similar_set=SET)

    listed = api.get(f"/api/dm/actions?project={project.id}").json()
    assert any(a["id"] == ACTION and a["title"] == "Import similar from ApertureDB" for a in listed)
    form = api.get(f"/api/dm/actions/{ACTION}/form/?project={project.id}").json()
    assert {o["value"] for o in form[0]["fields"][0]["options"]} == {str(examples["id"]), str(similar["id"])}
    assert other_api.get(f"/api/dm/actions/{ACTION}/form/?project={project.id}").status_code == 404

    body = {"selectedItems": {"all": False, "included": chosen}, "storage": similar["id"], "k": 2}
    refused = _action(other_api, project, body)  # another organization: nothing is imported, nothing is told
    assert refused.status_code == 404 and project.tasks.count() == 2

    response = _action(api, project, body)
    assert response.status_code == 200 and response.json()["async"] is True, response.content
    done = wait_status(api, project, similar["id"], {"completed", "failed"})
    assert done["status"] == "completed", done["traceback"]
    assert done["meta"]["tasks_created"] == 4
    assert _reds_in(project, reds) == [8, 10, 12, 28, 30, 32]
    assert all("distance" in t.data for t in project.tasks.all() if t.data["image"].startswith(
        f"aperturedb://{similar['id']}/"))


@pytest.mark.parametrize("body,field", [
    ({"storage": "nope", "k": 2}, "storage"),
    ({"storage": None, "k": 0}, "k"),
])
def test_data_manager_action_refuses_bad_input_naming_the_field(api, project, adb, reds, body, field):
    similar = create(api, project, adb, title="similar", similar_set=SET)
    other = make_project(project.created_by, title="another project")
    foreign = create(api, other, adb, title="elsewhere", similar_set=SET)
    body = {**body, "storage": similar["id"] if body["storage"] is None else body["storage"],
            "selectedItems": {"all": True}}
    response = _action(api, project, body)
    assert response.status_code == 400 and field in response.json()["validation_errors"], response.content
    response = _action(api, project, {**body, "storage": foreign["id"], "k": 2})
    assert response.status_code == 400 and "storage" in response.json()["validation_errors"], response.content
