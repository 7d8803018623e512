"""``ls-aperturedb demo``: the emulator seeded with sample images, a Celery worker, Label Studio with a
demo user, and a project whose ApertureDB source and target storages are already synced.

State lives in ``--data-dir`` (default ``.demo``): a second start reuses it and is fast.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

USER, PASSWORD, TOKEN = "demo@example.com", "demo12345", "ls-aperturedb-demo-token"
LABEL_CONFIG = """<View>
  <Image name="image" value="$image" zoom="true"/>
  <RectangleLabels name="label" toName="image">
    <Label value="cat" background="#f39c12"/><Label value="dog" background="#2980b9"/>
    <Label value="car" background="#27ae60"/>
  </RectangleLabels>
  <PolygonLabels name="outline" toName="image">
    <Label value="cat" background="#f39c12"/><Label value="dog" background="#2980b9"/>
    <Label value="car" background="#27ae60"/>
  </PolygonLabels>
</View>"""
# The second project: the emulator's sample videos (WebM/VP9 at 10 fps, two moving shapes tracked by
# boxes on every 5th frame, three labelled clips; aperturedb_emulator/sample_media.py).
VIDEO_PROJECT, VIDEO_DATASET = "Video", "seed-video"
VIDEO_CONFIG = """<View>
  <Video name="video" value="$video" frameRate="10"/>
  <Labels name="objects" toName="video">
    <Label value="car" background="#e74c3c"/><Label value="person" background="#27ae60"/>
  </Labels>
  <VideoRectangle name="box" toName="video"/>
  <TimelineLabels name="events" toName="video">
    <Label value="enter" background="#8e44ad"/><Label value="crossing" background="#d35400"/>
    <Label value="exit" background="#16a085"/>
  </TimelineLabels>
  <Choices name="scene" toName="video"><Choice value="day"/><Choice value="night"/></Choices>
</View>"""


def say(message):
    print(f"[demo] {message}", flush=True)


def port_open(host, port):
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    def __init__(self, args):
        self.args = args
        self.root = os.path.abspath(args.data_dir)
        self.children = []
        self.adb_port = args.aperturedb_port or free_port()
        self.url = f"http://{args.host}:{args.port}"

    # ------------------------------------------------------------ processes
    def env(self):
        broker = f"redis://127.0.0.1:6379/{self.args.redis_db}" if port_open("127.0.0.1", 6379) else "filesystem://"
        return dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="ls_aperturedb.settings",
            LABEL_STUDIO_BASE_DATA_DIR=os.path.join(self.root, "label-studio"),
            LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
            LS_APERTUREDB_ALLOWED_HOSTS="127.0.0.1,localhost",
            LS_APERTUREDB_BROKER_URL=broker,
            LS_APERTUREDB_BROKER_FOLDER=os.path.join(self.root, "broker"),
            DJANGO_DB="sqlite",
            ADB_LOG_FILE="",
            SENTRY_DSN="",
            FRONTEND_SENTRY_DSN="",
        )

    def spawn(self, name, cmd, env):
        log = open(os.path.join(self.root, f"{name}.log"), "ab")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.children.append((name, proc))
        return proc

    def stop(self):
        for name, proc in reversed(self.children):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in reversed(self.children):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.children.clear()

    def wait_for(self, what, check, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for name, proc in self.children:
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited early; see {os.path.join(self.root, name + '.log')}")
            if check():
                return
            time.sleep(0.5)
        raise SystemExit(f"timed out waiting for {what}")

    # ------------------------------------------------------------ Label Studio API
    def api(self, method, path, body=None):
        request = urllib.request.Request(
            self.url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def healthy(self):
        try:
            return urllib.request.urlopen(self.url + "/health", timeout=2).status == 200
        except (urllib.error.URLError, OSError):
            return False

    # ------------------------------------------------------------ steps
    def start_emulator(self, env):
        seeded = os.path.exists(os.path.join(self.root, "aperturedb"))
        cmd = [sys.executable, "-m", "aperturedb_emulator", "--port", str(self.adb_port),
               "--data-dir", os.path.join(self.root, "aperturedb")]
        if not seeded:
            cmd += ["--seed", str(self.args.images), "--seed-scale", "6", "--seed-videos", str(self.args.videos)]
        say(f"starting the ApertureDB emulator on 127.0.0.1:{self.adb_port}"
            + ("" if seeded else f", seeding {self.args.images} sample images and {self.args.videos} videos"))
        self.spawn("aperturedb", cmd, env)
        self.wait_for("the emulator", lambda: port_open("127.0.0.1", self.adb_port), 120)
        self.seed_descriptors(first=not seeded)

    def seed_descriptors(self, first):
        """For "Import similar from ApertureDB": a pool of images the demo project does not import
        (dataset "pool"), and a colour descriptor for every image (set ``image_colors``)."""
        from aperturedb_emulator.embeddings import SET_NAME, add_color_descriptors
        from aperturedb_emulator.seed import seed

        from ls_aperturedb.client.connection import ConnectionConfig

        conn = ConnectionConfig(host="127.0.0.1", port=self.adb_port, username="admin", password="admin",
                                use_ssl=False).connector()
        try:
            if first:
                seed(conn, 2 * self.args.images, dataset="pool", start=self.args.images, rng_seed=1, scale=6)
            add_color_descriptors(conn, SET_NAME)
        finally:
            conn.close()

    def start_worker(self, env):
        broker = env["LS_APERTUREDB_BROKER_URL"]
        say("starting the Celery worker (broker: "
            + ("Redis on 127.0.0.1:6379" if broker.startswith("redis") else "embedded, no server") + ")")
        self.spawn("worker", [sys.executable, "-m", "ls_aperturedb.cli", "worker", "--pool=threads",
                              "--concurrency=4", "--schedule", os.path.join(self.root, "beat-schedule")], env)

    def start_label_studio(self, env):
        first = not os.path.exists(os.path.join(env["LABEL_STUDIO_BASE_DATA_DIR"], "label_studio.sqlite3"))
        say("starting Label Studio" + (" (first start migrates its database, about 30 s)" if first else ""))
        self.spawn("label-studio", [sys.executable, "-m", "ls_aperturedb.cli", "start", "--host", self.args.host,
                                    "--port", str(self.args.port), "--no-browser", "--username", USER,
                                    "--password", PASSWORD, "--user-token", TOKEN], env)
        self.wait_for("Label Studio", self.healthy, 300)

    def find_or_create_project(self, title, label_config):
        """The id of the project titled ``title``, created with ``label_config`` on first start."""
        projects = self.api("GET", f"/api/projects?title={urllib.parse.quote(title)}")
        projects = projects.get("results", projects) if isinstance(projects, dict) else projects
        project = next((p for p in projects if p["title"] == title), None)
        if project is None:
            project = self.api("POST", "/api/projects", {"title": title, "label_config": label_config})
        return project["id"]

    def connection_fields(self, pid):
        """Storage fields that point a storage of project ``pid`` at this run's emulator."""
        return {"hostname": "127.0.0.1", "port": self.adb_port, "username": "admin", "password": "admin",
                "use_ssl": False, "project": pid}

    def reuse_or_create_storage(self, path, storages, connection, new_fields):
        """The first of ``storages`` (listed at ``path``) pointed at this run's emulator (its port changes
        between starts), else a new storage there with ``new_fields``."""
        if storages:
            return self.api("PATCH", f"{path}/{storages[0]['id']}", connection)
        return self.api("POST", path, {**connection, **new_fields})

    def sync(self, source, storage_name, sync_name, finished):
        """Sync the source storage and wait until its status is one of ``finished``."""
        say(f"syncing the ApertureDB {storage_name} storage")
        self.api("POST", f"/api/storages/aperturedb/{source['id']}/sync")

        def synced():
            status = self.api("GET", f"/api/storages/aperturedb/{source['id']}")
            if status["status"] == "failed":
                raise SystemExit(f"{sync_name} failed: {status.get('traceback')}")
            return status["status"] in finished

        self.wait_for(f"the {sync_name}", synced, 300)

    def prepare_project(self):
        pid = self.find_or_create_project("ApertureDB demo", LABEL_CONFIG)
        connection = self.connection_fields(pid)
        sources = self.api("GET", f"/api/storages/aperturedb?project={pid}")
        source = self.reuse_or_create_storage("/api/storages/aperturedb", sources, connection, {
            "title": "Sample images", "include_regions": True, "properties": ["dataset", "split"],
            "constraints": {"dataset": ["==", "seed"]}, "similar_set": "image_colors"})
        if not any(s["title"] == "Similar images (pool)" for s in sources):
            # Data Manager: select tasks > Actions > Import similar from ApertureDB > this storage.
            self.api("POST", "/api/storages/aperturedb", {
                **connection, "title": "Similar images (pool)", "include_regions": True,
                "properties": ["dataset", "split"], "constraints": {"dataset": ["==", "pool"]},
                "similar_set": "image_colors", "similar_k": 3})
        targets = self.api("GET", f"/api/storages/export/aperturedb?project={pid}")
        self.reuse_or_create_storage("/api/storages/export/aperturedb", targets, connection, {
            "title": "Annotations back to ApertureDB", "can_delete_objects": True})
        self.sync(source, "source", "sync", ("completed",))
        tasks = self.api("GET", f"/api/projects/{pid}")["task_number"]
        return pid, tasks

    def prepare_video_project(self):
        """The "Video" project: videos as tasks, clips and tracked boxes as predictions, annotations back."""
        pid = self.find_or_create_project(VIDEO_PROJECT, VIDEO_CONFIG)
        connection = self.connection_fields(pid)
        sources = self.api("GET", f"/api/storages/aperturedb?project={pid}")
        source = self.reuse_or_create_storage("/api/storages/aperturedb", sources, connection, {
            "title": "Sample videos", "media_kind": "videos", "include_regions": True,
            "properties": ["name"], "constraints": {"dataset": ["==", VIDEO_DATASET]}})
        targets = self.api("GET", f"/api/storages/export/aperturedb?project={pid}")
        self.reuse_or_create_storage("/api/storages/export/aperturedb", targets, connection, {
            "title": "Video annotations back to ApertureDB", "can_delete_objects": True})
        self.sync(source, "video", "video sync", ("completed", "completed_with_errors"))
        return pid, self.api("GET", f"/api/projects/{pid}")["task_number"]

    def run(self):
        started = time.time()
        if port_open(self.args.host, self.args.port):
            raise SystemExit(f"port {self.args.port} is taken; pass --port")
        if self.args.reset and os.path.exists(self.root):
            shutil.rmtree(self.root)
        os.makedirs(self.root, exist_ok=True)
        env = self.env()
        self.start_emulator(env)
        self.start_worker(env)
        self.start_label_studio(env)
        pid, tasks = self.prepare_project()
        video_pid, videos = self.prepare_video_project()
        say(f"ready in {time.time() - started:.0f} s: {tasks} image tasks and {videos} video tasks from ApertureDB")
        print(f"\n  Open   {self.url}/projects/{pid}/data\n"
              f"  Video  {self.url}/projects/{video_pid}/data\n  Login  {USER} / {PASSWORD}\n"
              f"  ApertureDB (emulator, port chosen at start; --aperturedb-port fixes it)  127.0.0.1:{self.adb_port}\n"
              f"  A storage by hand   Settings > Cloud Storage > ApertureDB: Host 127.0.0.1, Port {self.adb_port},\n"
              f"                      Username admin, Password admin, Use TLS off (the emulator speaks plain TCP)\n"
              f"  Try    select tasks, then Actions > Import similar from ApertureDB > Similar images (pool)\n"
              f"  Logs   {self.root}/*.log\n\nPress Ctrl-C to stop.", flush=True)
        while True:
            self.wait_for("Ctrl-C", lambda: False, 10 ** 9)


def _terminate(*_):
    """SIGTERM stops the children like Ctrl-C does (once: a second signal must not cut the cleanup)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ls-aperturedb demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--images", type=int, default=24, help="sample images to seed on first start")
    parser.add_argument("--videos", type=int, default=3, help="sample videos to seed on first start")
    parser.add_argument("--aperturedb-port", type=int, default=0, help="emulator port (default: a free one)")
    parser.add_argument("--data-dir", default=".demo")
    parser.add_argument("--redis-db", type=int, default=5)
    parser.add_argument("--reset", action="store_true", help="start from an empty data dir")
    args = parser.parse_args(argv)
    demo = Demo(args)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        demo.run()
    except KeyboardInterrupt:
        say("stopping")
    finally:
        demo.stop()
    return 0
