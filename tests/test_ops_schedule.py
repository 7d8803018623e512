"""Scheduled sync: a per-storage interval in the API, fired by a real Celery beat + worker, and never
stacked on a sync of the same storage that is still running (forced interleaving)."""
import time
from datetime import timedelta

import pytest

from tests.fixtures.export import add_images
from tests.fixtures.worker import started_workers, worker_env
from tests.source_helpers import API, create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def beat_worker(transactional_db, settings):
    """A worker with an embedded beat that looks for due schedules every second."""
    with started_workers(settings) as start:
        yield start(worker_env({"LS_APERTUREDB_SCHEDULE_SECONDS": "1"}), beat=True)


def _wait_tasks(project, count, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if project.tasks.count() >= count:
            return time.monotonic()
        time.sleep(0.2)
    raise AssertionError(f"{project.tasks.count()} tasks, expected {count}")


def test_interval_is_in_the_api_and_checked(api, project, adb):
    storage = create(api, project, adb)
    assert storage["sync_interval"] is None  # off by default
    response = api.patch(f"{API}/{storage['id']}", {"sync_interval": 3}, content_type="application/json")
    assert response.status_code == 400
    assert "at least 10 seconds" in response.json()["validation_errors"]["sync_interval"][0]
    response = api.patch(f"{API}/{storage['id']}", {"sync_interval": 900}, content_type="application/json")
    assert response.status_code == 200 and response.json()["sync_interval"] == 900
    form = api.get("/api/storages/aperturedb/form").json()
    assert "sync_interval" in str(form) and "webhook_url" in str(form)


def test_beat_syncs_each_storage_at_its_interval(api, project, adb, beat_worker):
    add_images(adb, 3)
    create(api, project, adb, sync_interval=10)
    first = _wait_tasks(project, 3, timeout=30)  # never synced: due at once
    add_images(adb, 2)
    second = _wait_tasks(project, 5, timeout=40)
    assert second - first >= 8, "the second scheduled sync came before the interval"


def test_a_running_sync_is_not_stacked_and_one_firing_starts_once(api, project, adb):
    from django.utils import timezone

    from ls_aperturedb.models import ApertureDBImportStorage
    from ls_aperturedb.ops import schedule
    from ls_aperturedb.source.importer import claim, run_sync

    add_images(adb, 2)
    storage = ApertureDBImportStorage.objects.get(id=create(api, project, adb, sync_interval=60)["id"])
    run = claim(storage)  # a sync is queued (a worker is about to run it)
    now = timezone.now()

    assert [f.outcome for f in schedule.run_due(now)] == ["skipped"]
    storage.refresh_from_db()
    assert storage.last_sync_job == run and storage.status == "queued"
    assert schedule.run_due(now) == []  # that firing is taken: a second beat run does not fire again
    assert [f.outcome for f in schedule.run_due(now + timedelta(seconds=61))] == ["skipped"]  # still busy

    run_sync(storage.id, run)  # the queued sync runs and ends
    storage.refresh_from_db()
    assert storage.status == "completed" and project.tasks.count() == 2
    assert schedule.run_due(now + timedelta(seconds=90)) == []  # not due yet
    fired = schedule.run_due(now + timedelta(seconds=122))
    assert [(f.kind, f.outcome) for f in fired] == [("source", "started")]
    storage.refresh_from_db()
    assert storage.last_sync_job != run and storage.status == "completed"


def test_a_running_target_sync_is_skipped(api, project, adb):
    from django.utils import timezone

    from ls_aperturedb.ops import schedule
    from tests.fixtures.export import create_target

    target = create_target(api, project, adb, sync_interval=30)
    target.info_set_queued()
    target.info_set_in_progress()  # a target sync is running (fresh ping)
    assert [(f.kind, f.outcome) for f in schedule.run_due()] == [("target", "skipped")]
    target.refresh_from_db()
    assert target.status == "in_progress"
    target.status = "completed"
    target.save(update_fields=["status"])
    fired = schedule.run_due(timezone.now() + timedelta(seconds=31))
    assert [(f.kind, f.outcome) for f in fired] == [("target", "started")]
    target.refresh_from_db()
    assert target.status == "completed"
