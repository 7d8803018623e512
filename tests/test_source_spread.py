"""A sync spread over several Celery workers (LS_APERTUREDB_SYNC_WORKERS): both workers write ranges of
pages, and when one is killed in the middle of a range the other takes the range over, with one task per
image and progress that adds up."""
import time

import pytest

from aperturedb_emulator.seed import seed
from tests.fixtures.worker import started_workers, worker_env
from tests.source_helpers import create, wait_status

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
API = "/api/storages/aperturedb"
STALE = 3  # seconds of silence after which a range is taken over


@pytest.fixture
def two_workers(transactional_db, settings):
    """Two worker processes that each run one task at a time, so the sync and its part land on both."""
    env = worker_env({"LS_APERTUREDB_SYNC_WORKERS": "2", "LS_APERTUREDB_SYNC_STALE_SECONDS": str(STALE)})
    with started_workers(settings) as start:
        yield [start(env, name=f"spread{i}", concurrency=1) for i in range(2)]


def _ranges(storage_id):
    from ls_aperturedb.models import ApertureDBSyncRange

    return list(ApertureDBSyncRange.objects.filter(storage_id=storage_id).order_by("first_page"))


def _pid(owner):
    return int(owner.split(":")[1]) if owner else None


def _a_range_in_the_middle(storage_id, workers, timeout=120):
    """Wait until both workers hold a range, one of them several pages into its range and several
    pages from its end; return that worker and its range."""
    pids = {worker.proc.pid: worker for worker in workers}
    deadline = time.time() + timeout
    while time.time() < deadline:
        ranges = _ranges(storage_id)
        owners = {_pid(r.owner) for r in ranges if r.owner}
        if pids.keys() <= owners:
            for r in ranges:
                if not r.done and _pid(r.owner) in pids and r.first_page + 2 <= r.next_page <= r.end_page - 10:
                    return pids[_pid(r.owner)], r
        time.sleep(0.02)
    raise AssertionError(f"no range in progress on both workers: {[(r.owner, r.next_page) for r in _ranges(storage_id)]}")


def test_a_killed_workers_range_is_taken_over(api, project, adb, two_workers):
    from ls_aperturedb.models import ApertureDBImportStorageLink

    images = 4000
    seed(adb, images, batch=500)
    storage = create(api, project, adb, batch_size=10)  # 400 pages: 4 ranges of 100
    response = api.post(f"{API}/{storage['id']}/sync", content_type="application/json")
    assert response.status_code == 200, response.content

    victim, doomed = _a_range_in_the_middle(storage["id"], two_workers)
    victim.kill()
    survivor = next(w for w in two_workers if w is not victim)

    done = wait_status(api, project, storage["id"], {"completed", "failed"}, timeout=240)
    assert done["status"] == "completed", (done["traceback"], done["meta"])
    keys = list(ApertureDBImportStorageLink.objects.filter(storage_id=storage["id"]).values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == images == project.tasks.count()
    assert done["meta"]["tasks_created"] == images and done["meta"]["images_seen"] >= images  # the sum of ranges
    taken = next(r for r in _ranges(storage["id"]) if r.pk == doomed.pk)
    assert taken.done and taken.takeovers == 1 and _pid(taken.owner) == survivor.proc.pid
    assert all(r.done for r in _ranges(storage["id"]))


def test_progress_adds_up_over_both_workers(api, project, adb, two_workers):
    images = 1200
    seed(adb, images, batch=400)
    # A box whose label the project lacks on every 10th image: each worker's report counts its own.
    listed, _ = adb.query([{"FindImage": {"uniqueids": True, "sort": "_uniqueid"}}])
    odd = [e["_uniqueid"] for e in listed[0]["FindImage"]["entities"]][::10]
    adb.query([command for n, uid in enumerate(odd) for command in (
        {"FindImage": {"_ref": n + 1, "constraints": {"_uniqueid": ["==", uid]}}},
        {"AddBoundingBox": {"image_ref": n + 1, "label": "zebra",
                            "rectangle": {"x": 1, "y": 1, "width": 5, "height": 5}}})])
    storage = create(api, project, adb, batch_size=20)
    response = api.post(f"{API}/{storage['id']}/sync", content_type="application/json")
    assert response.status_code == 200, response.content
    done = wait_status(api, project, storage["id"], {"completed", "failed"}, timeout=120)
    assert done["status"] == "completed", (done["traceback"], done["meta"])
    assert done["meta"]["tasks_created"] == images == project.tasks.count()
    assert done["meta"]["predictions_created"] == images
    assert done["meta"]["labels_not_in_config"] == {"zebra": len(odd)}, done["meta"]
    owners = {_pid(r.owner) for r in _ranges(storage["id"])}
    assert owners == {w.proc.pid for w in two_workers}, "both workers wrote ranges"
    assert len({t.inner_id for t in project.tasks.all()}) == images  # Label Studio's task numbers stay unique
    # A second sync finds everything linked: nothing is created twice.
    response = api.post(f"{API}/{storage['id']}/sync", content_type="application/json")
    again = wait_status(api, project, storage["id"], {"completed", "failed"}, timeout=120)
    assert again["status"] == "completed" and again["meta"]["tasks_created"] == 0, again
    assert project.tasks.count() == images
