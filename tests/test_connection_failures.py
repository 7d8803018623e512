"""When ApertureDB cannot or may not be reached, and when the broker is down: every path that talks to
ApertureDB (media, import sync, export) ends within a bounded time with a readable error, the SSRF
policy holds on every connection (not only on "Test connection"), and a sync is never left `queued`."""
import socket
import threading

import pytest

from tests.fixtures.aperturedb import REAL, ApertureDBTarget
from tests.fixtures.export import annotate, annotations_in, create_target, full_project, imported_tasks  # noqa: F401
from tests.fixtures.worker import REDIS_URL, Worker, _purge, use_broker, worker_env
from tests.source_helpers import add_image, create, jpeg, resolve_url, sync, wait_status

pytestmark = pytest.mark.django_db(transaction=True)
API = "/api/storages/aperturedb"
EXPORT_API = "/api/storages/export/aperturedb"
BOX = [{"id": "b1", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
        "original_width": 640, "original_height": 480, "image_rotation": 0,
        "value": {"x": 10.0, "y": 10.0, "width": 20.0, "height": 20.0, "rotation": 0, "rectanglelabels": ["cat"]}}]


class HangingProxy:
    """A TCP proxy in front of ApertureDB that can hang like a stuck server: it keeps accepting and
    reading but stops answering, on every connection (``hang()``) or on a connection as soon as it
    sends ``hang_on`` (e.g. ``b"FindImage"``). A connection that hung stays hung, as a stuck TCP peer
    does; ``recover()`` only makes new connections work again."""

    def __init__(self, upstream, hang_on=None):
        self.upstream, self.hang_on = upstream, hang_on
        self.hanging = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def target(self, adb):
        return ApertureDBTarget("127.0.0.1", self.port, adb.username, adb.password, use_ssl=False)

    def hang(self):
        self.hanging.set()

    def recover(self):
        self.hanging.clear()
        self.hang_on = None

    def close(self):
        for sock in self.sockets:
            sock.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((self.upstream.host, self.upstream.port))
            self.sockets += [client, upstream]
            hung = threading.Event()
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst, hung, src is client), daemon=True).start()

    def _pump(self, src, dst, hung, from_client):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            if from_client and (self.hanging.is_set() or (self.hang_on and self.hang_on in data)):
                hung.set()
            if hung.is_set():
                continue  # read and never answered
            try:
                dst.sendall(data)
            except OSError:
                return


@pytest.fixture
def proxy(adb):
    if REAL and adb.use_ssl:
        pytest.skip("the proxy reads plain-TCP queries")
    proxies = []

    def make(hang_on=None):
        proxies.append(HangingProxy(adb, hang_on))
        return proxies[-1]
    yield make
    for p in proxies:
        p.close()


@pytest.fixture
def quick_timeout(settings):
    settings.APERTUREDB_QUERY_TIMEOUT = "1"


def _body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def _synced_image(api, project, target, adb):
    blob = jpeg(40, 30, shade=11)
    add_image(adb, {"width": 40, "height": 30}, blob=blob)
    storage = create(api, project, target)
    assert sync(api, storage["id"])["status"] == "completed"
    task = project.tasks.get()
    return task, task.data["image"], blob, storage


# ------------------------------------------------------------------ item 9: a server that goes silent
def test_media_from_a_silent_server_is_504_and_the_hung_connection_is_dropped(api, project, adb, proxy,
                                                                             quick_timeout):
    hanging = proxy()
    task, uri, blob, _ = _synced_image(api, project, hanging.target(adb), adb)
    hanging.hang()  # the pooled connection of the sync and every new one now get no answer
    response = api.get(resolve_url(task, uri))
    assert response.status_code == 504
    body = _body(response).decode()
    assert f"127.0.0.1:{hanging.port}" in body and "no answer within 1 s" in body
    hanging.recover()  # the hung connection stays hung: only a new connection can serve this
    response = api.get(resolve_url(task, uri))
    assert response.status_code == 200 and _body(response) == blob


def test_sync_against_a_server_that_stops_answering_fails_readably(api, project, adb, proxy, quick_timeout):
    add_image(adb, {"width": 40, "height": 30})
    hanging = proxy(hang_on=b"FindImage")  # "Test connection" (GetStatus) passes, the first page hangs
    storage = create(api, project, hanging.target(adb))
    answer = sync(api, storage["id"])
    assert answer["status"] == "failed", answer
    assert f"127.0.0.1:{hanging.port}" in answer["traceback"] and "no answer within 1 s" in answer["traceback"]
    assert "Traceback" not in answer["traceback"]
    hanging.recover()
    assert sync(api, storage["id"])["status"] == "completed"
    assert project.tasks.count() == 1


def test_export_to_a_silent_server_stays_pending_and_is_retried(api, adb, full_project, proxy, quick_timeout):
    [task] = imported_tasks(full_project, adb, 1)
    hanging = proxy()
    target = create_target(api, full_project, hanging.target(adb))
    hanging.hang()
    annotation_id = annotate(api, task, BOX)  # exported inline (no broker): the save still answers
    link = target.links.get()
    assert link.state == "pending" and link.attempts == 1
    assert "no answer within 1 s" in link.last_error and f"127.0.0.1:{hanging.port}" in link.last_error
    hanging.recover()
    response = api.post(f"{EXPORT_API}/{target.id}/sync", content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "completed", response.content
    assert target.links.get().state == "exported"
    assert len(annotations_in(adb, annotation_id)) == 1


# ------------------------------------------------------------------ item 4: SSRF policy on every connection
def test_media_stops_when_the_host_is_no_longer_allowed(api, project, adb, settings):
    task, uri, blob, _ = _synced_image(api, project, adb, adb)  # leaves an authenticated pooled connection
    settings.APERTUREDB_ALLOWED_HOSTS = ""
    response = api.get(resolve_url(task, uri))
    assert response.status_code == 502
    body = _body(response)
    assert blob not in body
    assert b"SSRF protection" in body and b"LS_APERTUREDB_ALLOWED_HOSTS" in body
    settings.APERTUREDB_ALLOWED_HOSTS = adb.host
    assert api.get(resolve_url(task, uri)).status_code == 200


def test_export_stops_when_the_host_is_no_longer_allowed(api, adb, full_project, settings):
    [task] = imported_tasks(full_project, adb, 1)
    target = create_target(api, full_project, adb)
    settings.APERTUREDB_ALLOWED_HOSTS = ""
    annotation_id = annotate(api, task, BOX)
    link = target.links.get()
    assert link.state == "pending"
    assert "SSRF protection" in link.last_error and "LS_APERTUREDB_ALLOWED_HOSTS" in link.last_error
    assert annotations_in(adb, annotation_id) == []


@pytest.fixture
def broker(settings):
    """Points this process's Celery producer somewhere; back to no broker afterwards."""
    _purge()
    yield lambda url: use_broker(url, settings)
    use_broker("", settings)
    _purge()


@pytest.mark.worker
def test_sync_by_a_worker_whose_policy_no_longer_allows_the_host_fails_readably(api, project, adb, broker):
    add_image(adb, {"width": 40, "height": 30})
    storage = create(api, project, adb)
    broker(REDIS_URL)
    worker = Worker(worker_env({"LS_APERTUREDB_ALLOWED_HOSTS": ""})).start()
    try:
        response = api.post(f"{API}/{storage['id']}/sync", content_type="application/json")
        assert response.status_code == 200, response.content  # this process still allows the host
        failed = wait_status(api, project, storage["id"], {"failed", "completed"})
    finally:
        worker.stop()
    assert failed["status"] == "failed", failed
    assert "SSRF protection" in failed["traceback"] and "LS_APERTUREDB_ALLOWED_HOSTS" in failed["traceback"]
    assert project.tasks.count() == 0


# ------------------------------------------------------------------ item 10: broker down, or no worker
def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sync_with_the_broker_down_fails_readably(api, adb, full_project, broker):
    add_image(adb, {"width": 40, "height": 30})
    source = create(api, full_project, adb)
    target = create_target(api, full_project, adb)
    broker(f"redis://:broker-secret@127.0.0.1:{_closed_port()}/0")
    for url, project_url in ((f"{API}/{source['id']}/sync", API),
                             (f"{EXPORT_API}/{target.id}/sync", EXPORT_API)):
        response = api.post(url, content_type="application/json")
        assert response.status_code == 200, response.content
        answer = response.json()
        assert answer["status"] == "failed", answer
        assert "Could not queue the sync" in answer["traceback"] and "LS_APERTUREDB_BROKER_URL" in answer["traceback"]
        assert "broker-secret" not in response.content.decode()
        listed = api.get(f"{project_url}?project={full_project.id}").json()
        assert [s["status"] for s in listed] == ["failed"]
    assert full_project.tasks.count() == 0


@pytest.mark.worker
def test_a_sync_no_worker_takes_is_shown_failed_and_a_late_worker_skips_it(api, adb, full_project, broker,
                                                                          settings):
    add_image(adb, {"width": 40, "height": 30})
    source = create(api, full_project, adb)
    target = create_target(api, full_project, adb)
    broker(REDIS_URL)  # a broker that takes the messages, and no worker listening
    settings.APERTUREDB_SYNC_STALE_SECONDS = "0"  # any heartbeat is stale: no waiting in the test
    settings.APERTUREDB_EXPORT_LEASE_SECONDS = "0"
    for url in (f"{API}/{source['id']}/sync", f"{EXPORT_API}/{target.id}/sync"):
        response = api.post(url, content_type="application/json")
        assert response.status_code == 200 and response.json()["status"] == "queued", response.content
    failed = wait_status(api, full_project, source["id"], {"failed", "completed"}, timeout=10)
    assert "No worker picked up the sync" in failed["traceback"], failed
    assert "ls-aperturedb worker" in failed["traceback"] and "LS_APERTUREDB_BROKER_URL" in failed["traceback"]
    [export] = api.get(f"{EXPORT_API}?project={full_project.id}").json()
    assert export["status"] == "failed", export

    settings.APERTUREDB_SYNC_STALE_SECONDS = "60"
    worker = Worker(worker_env()).start()  # takes the old message too, and skips it: that run is over
    try:
        sync_again = api.post(f"{API}/{source['id']}/sync", content_type="application/json")
        assert sync_again.status_code == 200, sync_again.content
        done = wait_status(api, full_project, source["id"], {"failed", "completed"})
    finally:
        worker.stop()
    assert done["status"] == "completed", done
    assert done["meta"]["tasks_created"] == 1 and full_project.tasks.count() == 1
