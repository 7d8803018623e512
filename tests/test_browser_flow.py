"""The whole flow in headless Chromium (Debian's, never a downloaded browser), as a new user does it:
log in, create a project, add an ApertureDB source storage through the Cloud Storage wizard (TLS
explained, multi-line constraints checked as typed, properties chosen from GetSchema), test the
connection, preview (count, thumbnails ApertureDB rendered, properties, regions), review (provider,
server, constraints, count), save & sync and watch the card complete without a reload, add a target (a
wrong port is reported under Port), see secrets shown as set only when set, see thumbnails streamed
from ApertureDB, open a task with prediction boxes, move a box, submit — find the annotation and its
BoundingBox in ApertureDB (checked with the SDK), and the target card counting the export.

Screenshots go to ``build/screenshots/`` (or ``LS_APERTUREDB_SCREENSHOTS``).
"""
import json
import os
import shutil
import socket
import time

import pytest

from aperturedb_emulator.seed import seed

pytestmark = [pytest.mark.browser, pytest.mark.worker]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = os.environ.get("LS_APERTUREDB_SCREENSHOTS", os.path.join(os.path.dirname(__file__), "..", "build",
                                                                  "screenshots"))
CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="cat"/><Label value="dog"/><Label value="car"/>
  </RectangleLabels>
</View>"""


@pytest.fixture
def page(monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the ORM checks below are plain reads.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: apt-get install chromium (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    os.makedirs(SHOTS, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30000)
        yield page
        browser.close()


def shot(page, name):
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))


def wait_for(condition, timeout=60, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# The element holding the port error comes after the Port input and before the next row's first input.
ERROR_UNDER_PORT = """() => {
  const port = document.querySelector('input[name=port]'), next = document.querySelector('input[name=username]');
  const error = [...document.querySelectorAll('*')].find(e => e.children.length === 0 &&
                                                     e.textContent.includes('cannot reach ApertureDB'));
  return !!error && !!(port.compareDocumentPosition(error) & Node.DOCUMENT_POSITION_FOLLOWING) &&
         !!(error.compareDocumentPosition(next) & Node.DOCUMENT_POSITION_FOLLOWING);
}"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fill_connection(page, adb, title):
    page.fill("input[name=title]", title)
    page.fill("input[name=hostname]", adb.host)
    page.fill("input[name=port]", str(adb.port))
    page.fill("input[name=username]", adb.username)
    page.fill("input[name=password]", adb.password)
    if not adb.use_ssl:
        page.get_by_label("Use TLS").click()


def exported(adb):
    """The LS_annotation entities in ApertureDB with their BoundingBoxes."""
    response, _ = adb.query([
        {"FindEntity": {"_ref": 1, "with_class": "LS_annotation", "results": {"all_properties": True}}},
        {"FindBoundingBox": {"is_connected_to": {"ref": 1}, "coordinates": True, "labels": True,
                             "results": {"all_properties": True}}},
    ])
    return response[0]["FindEntity"].get("entities") or [], response[1]["FindBoundingBox"].get("entities") or []


def test_new_user_labels_images_from_aperturedb(live_server, celery_worker, adb, user, page):
    from projects.models import Project

    from ls_aperturedb.models import ApertureDBExportStorage, ApertureDBImportStorage

    seed(adb.connector(), 4)
    base = live_server.url

    # Log in.
    page.goto(f"{base}/user/login/")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", "pytest-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/user/login" not in url)

    # Create a project with a bounding-box labeling config.
    page.goto(f"{base}/projects/")
    page.get_by_role("button", name="Create").first.click()
    wait_for(lambda: Project.objects.exists(), what="the draft project the dialog creates")
    page.wait_for_timeout(500)
    page.fill("#project_name", "Images from ApertureDB")
    page.get_by_text("Labeling Setup", exact=True).click()
    page.get_by_text("Custom template").first.click()
    page.wait_for_selector(".CodeMirror")
    page.evaluate("xml => document.querySelector('.CodeMirror').CodeMirror.setValue(xml)", CONFIG)
    page.wait_for_timeout(500)
    shot(page, "01-create-project")
    page.get_by_role("button", name="Save").click()
    project = wait_for(lambda: Project.objects.filter(title="Images from ApertureDB",
                                                      label_config__contains="RectangleLabels").first(),
                       what="the project saved with its labeling config")

    # Settings → Cloud Storage → Add Source Storage → ApertureDB.
    page.goto(f"{base}/projects/{project.id}/settings/storage")
    page.get_by_test_id("add-source-storage-button-empty-state").click()
    page.get_by_test_id("storage-provider-aperturedb").click()
    shot(page, "02-provider-grid")
    page.get_by_role("button", name="Next").click()
    # The form says in one line what TLS the demo's emulator needs.
    page.get_by_text("the emulator of `make demo` speaks plain TCP").wait_for()
    assert page.locator("textarea[name=ca_cert]").count() == 1  # multi-line PEM while TLS is on
    fill_connection(page, adb, "Sample images")
    # Constraints are multi-line JSON, checked as the user types (line and column).
    page.fill("textarea[name=constraints]", '{\n  "dataset": ["==" "seed"]\n}')
    error = page.get_by_test_id("adb-error-constraints")
    assert "line 2, column" in error.inner_text(), error.inner_text()
    page.fill("textarea[name=constraints]", '{\n  "dataset": ["==", "seed"]\n}')
    assert page.get_by_test_id("adb-error-constraints").count() == 0
    # Properties are chosen from what this ApertureDB has (GetSchema).
    page.get_by_test_id("adb-load-schema").click()
    page.locator("input[name=adb-property][value=split]").check()
    page.select_option("select[name=width_property]", "width")
    page.select_option("select[name=height_property]", "height")
    page.select_option("select[name=score_property]", "confidence")  # a box property (GetSchema)
    page.get_by_role("button", name="Test Connection").click()
    page.get_by_role("button", name="Connection Verified").wait_for()
    shot(page, "03-connection-verified")
    page.get_by_role("button", name="Next").click()
    page.get_by_test_id("aperturedb-preview-step").wait_for()
    page.get_by_role("button", name="Load Preview").click()
    page.get_by_test_id("aperturedb-preview-list").wait_for()
    # The preview: the count, thumbnails ApertureDB rendered, copied properties, boxes/polygons per image.
    assert page.get_by_test_id("aperturedb-preview-count").inner_text().startswith("4 images match")
    wait_for(lambda: page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=aperturedb-thumbnail]')]"
        ".filter(i => i.complete && i.naturalWidth > 0 && i.naturalWidth <= 96).length") == 4,
        what="4 thumbnails of at most 96 px")
    items = page.get_by_test_id("aperturedb-preview-item")
    assert "split: " in items.first.inner_text()
    assert all("box" in t and "polygon" in t for t in page.get_by_test_id("aperturedb-preview-regions").all_inner_texts())
    shot(page, "04-preview")
    page.get_by_role("button", name="Next").click()
    # The review step names the provider, the server, the constraints and the count.
    page.get_by_test_id("aperturedb-review-step").wait_for()
    assert page.get_by_test_id("aperturedb-review-provider").inner_text().endswith("ApertureDB")
    assert f"{adb.host}:{adb.port}" in page.get_by_test_id("aperturedb-review-server").inner_text()
    assert '"seed"' in page.get_by_test_id("aperturedb-review-constraints").inner_text()
    assert "4 images match" in page.get_by_test_id("aperturedb-review-count").inner_text()
    shot(page, "05-review")
    page.get_by_role("button", name="Save & Sync").click()
    wait_for(lambda: project.tasks.count() == 4, what="4 tasks synced by the worker")
    assert "split" in project.tasks.first().data
    source = ApertureDBImportStorage.objects.get(project=project)
    assert (source.properties, source.width_property, source.score_property) == (["split"], "width", "confidence")
    # The card follows the sync to its end without a reload.
    source_card = page.get_by_test_id("aperturedb-card-details").first
    source_card.wait_for()
    wait_for(lambda: page.get_by_text("Completed", exact=True).count() >= 1, timeout=30,
             what="the source card to show Completed without a reload")
    assert page.get_by_role("button", name="Sync Storage").first.is_enabled()

    # Add Target Storage → ApertureDB: annotations go back. A wrong port is reported under Port.
    page.get_by_test_id("add-target-storage-button").click()
    page.get_by_test_id("storage-provider-aperturedb").click()
    page.get_by_role("button", name="Next").click()
    fill_connection(page, adb, "Annotations back to ApertureDB")
    if not adb.key:
        page.fill("input[name=port]", "70000")  # out of range: said under Port before any request
        page.get_by_role("button", name="Test Connection").click()
        page.get_by_text("Port must be between 1 and 65535").wait_for()
        page.fill("input[name=port]", str(free_port()))
        page.get_by_role("button", name="Test Connection").click()
        try:
            page.wait_for_function(ERROR_UNDER_PORT, timeout=15000)
        finally:
            shot(page, "05a-port-error")
        page.fill("input[name=port]", str(adb.port))
    page.get_by_role("button", name="Test Connection").click()
    page.get_by_role("button", name="Connection Verified").wait_for()
    page.get_by_role("button", name="Save").click()
    wait_for(lambda: ApertureDBExportStorage.objects.filter(project=project).exists(), what="the target storage")
    page.wait_for_timeout(500)

    # Editing the source shows the password as set, and the token and key (never given) as empty.
    page.get_by_role("button", name="Storage options").first.click()
    page.get_by_text("Edit", exact=True).click()
    page.locator("input[name=password]").wait_for()
    assert page.input_value("input[name=password]") == "•" * 16
    assert page.input_value("input[name=token]") == "" and page.input_value("input[name=aperturedb_key]") == ""
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)
    shot(page, "06-storages")

    # The Data Manager lists the tasks with thumbnails streamed from ApertureDB.
    page.goto(f"{base}/projects/{project.id}/data")
    page.wait_for_selector("img[src*='/resolve/']")
    wait_for(lambda: page.evaluate(
        "() => [...document.querySelectorAll(\"img[src*='/resolve/']\")]"
        ".filter(i => i.complete && i.naturalWidth > 0).length") >= 4, what="4 loaded thumbnails")
    shot(page, "07-data-manager")

    # Open a task: the prediction boxes are there.
    task = project.tasks.order_by("id").first()
    prediction = task.predictions.get()
    box = next(r for r in prediction.result if r["type"] == "rectanglelabels")
    page.goto(f"{base}/projects/{project.id}/data?task={task.id}")
    canvas = page.locator(".konvajs-content canvas").first
    canvas.wait_for()
    page.wait_for_timeout(1500)
    shot(page, "08-task-with-predictions")
    stage = page.locator(".konvajs-content").first.bounding_box()

    # Move the box by dragging its centre, then submit.
    v = box["value"]
    cx = stage["x"] + (v["x"] + v["width"] / 2) / 100 * stage["width"]
    cy = stage["y"] + (v["y"] + v["height"] / 2) / 100 * stage["height"]
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + stage["width"] * 0.1, cy + stage["height"] * 0.1, steps=8)
    page.mouse.up()
    page.wait_for_timeout(500)
    shot(page, "09-box-moved")
    page.get_by_role("button", name="Submit").click()
    annotation = wait_for(lambda: task.annotations.first(), what="the submitted annotation")
    moved = next(r for r in annotation.result if r["id"] == box["id"])
    assert moved["value"]["x"] > v["x"] and moved["value"]["y"] > v["y"], "the box did not move"

    # Within seconds ApertureDB holds the annotation node and its BoundingBox (checked with the SDK).
    entities, boxes = wait_for(lambda: (lambda e, b: (e, b) if e and b else None)(*exported(adb)),
                               timeout=20, what="the annotation in ApertureDB")
    shot(page, "10-submitted")
    assert [e["ls_annotation_id"] for e in entities] == [annotation.id]
    assert json.loads(entities[0]["result"]) == annotation.result
    exported_box = next(b for b in boxes if b["ls_region_id"] == box["id"])
    width, height = moved["original_width"], moved["original_height"]
    assert exported_box["_coordinates"]["x"] == round(moved["value"]["x"] * width / 100)
    assert exported_box["_coordinates"]["y"] == round(moved["value"]["y"] * height / 100)
    assert exported_box["_label"] == box["value"]["rectanglelabels"][0]

    # The target card counts the export in the fields Label Studio's card reads, pending/failed beside.
    page.goto(f"{base}/projects/{project.id}/settings/storage")
    counts = page.get_by_test_id("aperturedb-export-counts")
    counts.wait_for()
    assert counts.inner_text().startswith("Exports: 1 exported, 0 pending, 0 failed"), counts.inner_text()
    assert page.get_by_text("(1 total)").count() == 1  # Label Studio's own "Annotations 1 (1 total)"
    shot(page, "11-storage-cards")
