"""Import sync on a real Celery worker (Redis): queued at once, progress, one sync at a time, and a
killed worker or a vanished ApertureDB leave a failed sync that the next one completes exactly."""
import time

import pytest

from aperturedb_emulator.seed import seed
from aperturedb_emulator.server import EmulatorServer
from tests.fixtures.aperturedb import ApertureDBTarget
from tests.source_helpers import create, wait_status

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
API = "/api/storages/aperturedb"


def _post_sync(api, storage_id):
    response = api.post(f"{API}/{storage_id}/sync", content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def _assert_one_task_per_image(project, storage_id, images):
    from ls_aperturedb.models import ApertureDBImportStorageLink

    keys = list(ApertureDBImportStorageLink.objects.filter(storage_id=storage_id).values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == images
    assert project.tasks.count() == images


def _wait_progress(storage_id, at_least=1, timeout=60):
    from ls_aperturedb.models import ApertureDBImportStorageLink

    deadline = time.time() + timeout
    while time.time() < deadline:
        if ApertureDBImportStorageLink.objects.filter(storage_id=storage_id).count() >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError("the sync made no progress")


def test_sync_is_queued_then_completed_by_the_worker(api, project, adb, emulator_only, celery_worker):
    seed(emulator_only, 300)
    storage = create(api, project, adb, batch_size=50)
    answer = _post_sync(api, storage["id"])
    assert answer["status"] in ("queued", "in_progress")  # the API does not wait for the sync
    done = wait_status(api, project, storage["id"], {"completed", "failed"})
    assert done["status"] == "completed", (done["traceback"], done["meta"])
    assert done["meta"]["tasks_created"] == 300 and done["meta"]["predictions_created"] == 300
    _assert_one_task_per_image(project, storage["id"], 300)


def test_two_concurrent_syncs_run_once(api, project, adb, emulator_only, celery_worker):
    seed(emulator_only, 3000)
    storage = create(api, project, adb, batch_size=100)
    first, second = _post_sync(api, storage["id"]), _post_sync(api, storage["id"])
    assert second["last_sync_job"] == first["last_sync_job"]  # the second request joined the running sync
    done = wait_status(api, project, storage["id"], {"completed", "failed"})
    assert done["status"] == "completed" and done["meta"]["attempts"] == 1, done
    _assert_one_task_per_image(project, storage["id"], 3000)


def test_killed_worker_fails_the_sync_and_the_next_completes(api, project, adb, emulator_only, celery_worker,
                                                             settings):
    settings.APERTUREDB_SYNC_STALE_SECONDS = 2
    images = 10000
    seed(emulator_only, images, batch=500)
    storage = create(api, project, adb, batch_size=20)
    _post_sync(api, storage["id"])
    _wait_progress(storage["id"], 100)
    celery_worker.kill()
    time.sleep(2.5)
    failed = wait_status(api, project, storage["id"], {"failed", "completed"}, timeout=10)
    assert failed["status"] == "failed", failed
    assert "worker was killed" in failed["traceback"]
    settings.APERTUREDB_SYNC_STALE_SECONDS = 60  # a queued sync fails too when no worker takes it in time
    celery_worker.start()
    _post_sync(api, storage["id"])
    done = wait_status(api, project, storage["id"], {"completed", "failed"}, timeout=120)
    assert done["status"] == "completed", (done["traceback"], done["meta"])
    _assert_one_task_per_image(project, storage["id"], images)


def test_aperturedb_gone_mid_sync(api, project, celery_worker, tmp_path):
    server = EmulatorServer(data_dir=str(tmp_path)).start()
    port = server.port
    try:
        seed(server, 4000, batch=500)
        target = ApertureDBTarget("127.0.0.1", port, "admin", "admin", use_ssl=False)
        storage = create(api, project, target, batch_size=20)
        _post_sync(api, storage["id"])
        _wait_progress(storage["id"], 40)
        server.stop()
        failed = wait_status(api, project, storage["id"], {"failed", "completed"}, timeout=30)
        assert failed["status"] == "failed", failed
        assert f"127.0.0.1:{port}" in failed["traceback"] or "ApertureDB" in failed["traceback"]
        server = EmulatorServer(port=port, data_dir=str(tmp_path)).start()
        _post_sync(api, storage["id"])
        done = wait_status(api, project, storage["id"], {"completed", "failed"}, timeout=120)
        assert done["status"] == "completed", (done["traceback"], done["meta"])
        _assert_one_task_per_image(project, storage["id"], 4000)
    finally:
        server.stop()
