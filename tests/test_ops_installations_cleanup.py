"""Two Label Studio installations on one ApertureDB (two identities writing the same annotation ids
and project ids) never touch each other's exports; ``cleanup --project N`` removes what this
installation's target wrote for the project (dry run: counts), never media or prediction nodes."""
import io
import json

import pytest
from django.core.management import call_command

from tests.fixtures.export import annotate, count, create_target, delete, find, imported_tasks, update

pytestmark = pytest.mark.django_db(transaction=True)
BOX = {"id": "r1", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
       "original_width": 640, "original_height": 480,
       "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["cat"]}}
CHOICE = {"id": "c1", "from_name": "scene", "to_name": "image", "type": "choices", "value": {"choices": ["indoor"]}}


@pytest.fixture
def as_installation(monkeypatch):
    def switch(name):
        monkeypatch.setenv("LS_APERTUREDB_INSTALLATION", name)
    return switch


def _mine(adb, cls, installation, uid):
    return find(adb, "FindEntity", with_class=cls, constraints={
        "ls_annotation_uid": ["==", uid], "ls_installation": ["==", installation]})


def _cleanup(*args):
    out = io.StringIO()
    call_command("aperturedb_cleanup", *args, stdout=out)
    return out.getvalue()


def test_two_installations_writing_the_same_annotation_do_not_touch_each_other(
        api, full_project, adb, as_installation):
    from tasks.models import Annotation

    [task] = imported_tasks(full_project, adb, 1, boxes=1)  # one prediction box, imported
    create_target(api, full_project, adb)
    as_installation("site-a")
    annotation_id = annotate(api, task, [BOX])
    uid = str(Annotation.objects.get(id=annotation_id).unique_id)
    [a_node] = _mine(adb, "LS_annotation", "site-a", uid)

    as_installation("site-b")  # the same annotation (same uid, id, project id) from another installation
    update(api, annotation_id, [BOX, CHOICE])
    [b_node] = _mine(adb, "LS_annotation", "site-b", uid)
    [a_again] = _mine(adb, "LS_annotation", "site-a", uid)
    assert json.loads(a_again["result"]) == json.loads(a_node["result"]) == [BOX]  # site-a's untouched
    assert len(json.loads(b_node["result"])) == 2
    assert len(find(adb, "FindEntity", with_class="LS_classification",
                    constraints={"ls_installation": ["==", "site-a"]})) == 0

    delete(api, annotation_id)  # site-b deletes: its nodes go, a tombstone of its own stays
    assert _mine(adb, "LS_annotation", "site-b", uid) == []
    assert [n["ls_installation"] for n in _mine(adb, "LS_annotation_fence", "site-b", uid)] == ["site-b"] * 2
    assert len(_mine(adb, "LS_annotation", "site-a", uid)) == 1
    assert count(adb, "FindBoundingBox", constraints={"ls_installation": ["==", "site-a"]}) == 1

    # site-b's cleanup of the project removes only site-b's leftovers (its tombstone)
    out = _cleanup("--project", str(full_project.id))
    assert "removed 0 annotations" in out and "2 fences" in out, out
    assert len(_mine(adb, "LS_annotation", "site-a", uid)) == 1

    as_installation("site-a")
    out = _cleanup("--project", str(full_project.id), "--dry-run")
    assert "would remove 1 annotations, 1 boundingbox regions" in out and "2 fences" in out, out
    assert len(_mine(adb, "LS_annotation", "site-a", uid)) == 1  # a dry run removes nothing
    out = _cleanup("--project", str(full_project.id))
    assert "removed 1 annotations, 1 boundingbox regions" in out, out
    assert _mine(adb, "LS_annotation", "site-a", uid) == [] and _mine(adb, "LS_annotation_fence", "site-a", uid) == []
    assert count(adb, "FindImage") == 1 and count(adb, "FindBoundingBox") == 1  # media and the prediction box stay


def test_cleanup_needs_a_target_and_runs_on_delete_when_asked(api, full_project, adb, as_installation):
    from django.core.management import CommandError

    as_installation("site-c")
    with pytest.raises(CommandError):
        _cleanup("--project", str(full_project.id))
    [task] = imported_tasks(full_project, adb, 1)
    target = create_target(api, full_project, adb, cleanup_on_delete=True)
    annotate(api, task, [BOX])
    assert count(adb, "FindEntity", with_class="LS_annotation") == 1
    response = api.delete(f"/api/storages/export/aperturedb/{target.id}")
    assert response.status_code == 204
    assert count(adb, "FindEntity", with_class="LS_annotation") == 0
    assert count(adb, "FindBoundingBox") == 0 and count(adb, "FindImage") == 1
