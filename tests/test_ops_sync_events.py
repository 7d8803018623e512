"""Sync events: a local HTTP receiver gets one signed POST per finished source or target sync
(completed, completed with errors, failed), retried by the real worker until it answers 2xx."""
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.fixtures.export import add_images, annotate, create_target, imported_tasks
from tests.source_helpers import API, create, sync, wait_status

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "webhook-signing-secret-1"


class Receiver:
    """Records every POST; answers 503 to the first ``fail_first`` ones."""

    def __init__(self, fail_first=0):
        self.events, self.statuses, self.fail_first = [], [], fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                failing = len(receiver.statuses) < receiver.fail_first
                receiver.statuses.append(503 if failing else 204)
                if not failing:
                    receiver.events.append((dict(self.headers), body))
                self.send_response(receiver.statuses[-1])
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/adb"

    def wait(self, count=1, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.events) < count:
            time.sleep(0.1)
        assert len(self.events) >= count, f"{len(self.events)} events, statuses {self.statuses}"
        return [json.loads(body) for _, body in self.events]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


def verify(headers, body, secret=SECRET):
    """What a receiver does: recompute the signature over "<t>.<body>"."""
    fields = dict(part.split("=", 1) for part in headers["X-LS-ApertureDB-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) < 300


def test_source_sync_completed_and_failed_events(api, project, user, adb, receiver):
    from tests.fixtures.labelstudio import make_project

    add_images(adb, 3, boxes=1)
    storage = create(api, project, adb, webhook_url=receiver.url, webhook_secret=SECRET)
    assert "webhook_secret" not in storage and storage["webhook_url"] == receiver.url
    sync(api, storage["id"])
    [event] = receiver.wait(1)
    headers, body = receiver.events[0]
    assert verify(headers, body) and headers["X-LS-ApertureDB-Event"] == "aperturedb.sync.finished"
    assert headers["X-LS-ApertureDB-Delivery"] == event["delivery_id"]
    assert event["storage"] == {"id": storage["id"], "type": "source", "title": "ApertureDB", "project": project.id}
    assert event["status"] == "completed" and event["message"] == ""
    assert event["counts"]["tasks_created"] == 3 and event["counts"]["predictions_created"] == 3
    assert isinstance(event["duration_seconds"], float) and event["finished_at"]
    assert SECRET not in body.decode() and adb.password not in json.dumps(event["storage"])

    text_project = make_project(user, label_config='<View><Text name="t" value="$text"/></View>', title="text")
    failing = create(api, text_project, adb, webhook_url=receiver.url)  # no secret: unsigned
    sync(api, failing["id"])
    event = receiver.wait(2)[1]
    assert event["storage"]["id"] == failing["id"] and event["status"] == "failed"
    assert "Image" in event["message"] and "X-LS-ApertureDB-Signature" not in receiver.events[1][0]


def test_webhook_url_is_checked_on_save(api, project, adb):
    storage = create(api, project, adb)
    for url, reason in (("ftp://example.com/x", "http:// or https://"),
                        ("http://user:pw@127.0.0.1/x", "must not carry credentials")):
        response = api.patch(f"{API}/{storage['id']}", {"webhook_url": url}, content_type="application/json")
        assert response.status_code == 400, response.content
        assert reason in str(response.json()["validation_errors"]["webhook_url"])


def test_target_sync_with_a_failing_annotation_completes_with_errors(api, full_project, adb, receiver):
    tasks = imported_tasks(full_project, adb, 2)
    good = {"id": "r1", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
            "original_width": 640, "original_height": 480,
            "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["cat"]}}
    bad = {key: value for key, value in good.items() if key != "original_width"}  # cannot become pixels
    annotate(api, tasks[0], [good])
    annotate(api, tasks[1], [bad])
    target = create_target(api, full_project, adb, webhook_url=receiver.url)  # creating it syncs it (inline)
    target.refresh_from_db()
    assert target.status == "completed"  # the sync ends although one annotation cannot be written
    [event] = receiver.wait(1)
    assert event["status"] == "completed_with_errors" and event["counts"]["failed"] == 1
    assert event["counts"]["exported"] == 1
    assert event["message"].startswith("1 annotation(s) failed; last error: malformed annotation"), event


def test_target_sync_event_is_retried_by_the_worker(api, full_project, adb, celery_worker):
    receiver = Receiver(fail_first=2)
    try:
        tasks = imported_tasks(full_project, adb, 2)
        box = {"id": "r1", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
               "original_width": 640, "original_height": 480,
               "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["cat"]}}
        for task in tasks:
            annotate(api, task, [box])
        target = create_target(api, full_project, adb, webhook_url=receiver.url, webhook_secret=SECRET)
        [event] = receiver.wait(1, timeout=90)  # creating a target storage syncs it (Label Studio's API)
        assert receiver.statuses[:3] == [503, 503, 204]  # delivered on the third attempt
        assert verify(*receiver.events[0])
        assert event["storage"] == {"id": target.id, "type": "target", "title": "target",
                                    "project": full_project.id}
        assert event["status"] == "completed" and event["counts"]["exported"] == 2
        assert event["counts"]["exported_this_sync"] == 2 and event["counts"]["failed"] == 0
    finally:
        receiver.server.shutdown()


def test_a_dead_sync_is_reported_failed(api, project, adb, receiver):
    from datetime import timedelta

    from django.utils import timezone

    from ls_aperturedb.models import ApertureDBImportStorage
    from ls_aperturedb.source.importer import claim

    storage = create(api, project, adb, webhook_url=receiver.url)
    claim(ApertureDBImportStorage.objects.get(id=storage["id"]))  # queued, and no worker ever takes it
    ApertureDBImportStorage.objects.filter(id=storage["id"]).update(heartbeat=timezone.now() - timedelta(hours=1))
    listed = api.get(f"{API}?project={project.id}").json()  # Label Studio's list runs the health check
    assert listed[0]["status"] == "failed"
    [event] = receiver.wait(1)
    assert event["status"] == "failed" and event["storage"]["id"] == storage["id"]
    assert "worker" in event["message"], event


def test_a_dead_target_sync_is_reported_failed_once(api, full_project, adb, receiver):
    from datetime import timedelta

    from django.utils import timezone

    target = create_target(api, full_project, adb, webhook_url=receiver.url)  # creating it syncs it (inline)
    assert receiver.wait(1)[0]["status"] == "completed"
    target.refresh_from_db()
    target.status = "in_progress"  # a worker took the next Sync and died: no ping for an hour
    target.meta = {**target.meta, "time_last_ping": str(timezone.now() - timedelta(hours=1))}
    target.save(update_fields=["status", "meta"])
    for _ in range(2):  # Label Studio's list runs the health check on every call
        listed = api.get(f"/api/storages/export/aperturedb?project={full_project.id}").json()
        assert listed[0]["status"] == "failed"
    events = receiver.wait(2)
    time.sleep(1)  # a second failure event would have been queued by now (inline delivery)
    assert [event["status"] for event in receiver.wait(2)] == ["completed", "failed"]
    assert events[1]["storage"]["id"] == target.id and "stopped reporting" in events[1]["message"]
