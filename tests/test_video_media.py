"""Videos through Label Studio's resolve proxy: content type, ETag, Range (what a player's seeking sends),
the on-disk cache that spares ApertureDB a fetch per Range request, and its size bound."""
import os

import pytest

from ls_aperturedb.source import video_media
from tests.fixtures.labelstudio import make_project
from tests.source_helpers import create, resolve_url, sync
from tests.video_source_helpers import FPS, VIDEO_CONFIG, add_videos, dataset

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cache_dir(settings, tmp_path):
    settings.APERTUREDB_VIDEO_CACHE_DIR = str(tmp_path / "video-cache")
    return tmp_path / "video-cache"


@pytest.fixture
def videos(api, user, adb, cache_dir):
    """Three synced video tasks and the bytes of each video as ApertureDB stores them."""
    name = dataset()
    uids = add_videos(adb, name, 3, frames=60)
    project = make_project(user, VIDEO_CONFIG.format(rate=FPS), "Video media")
    storage = create(api, project, adb, media_kind="videos", constraints={"dataset": ["==", name]})
    assert sync(api, storage["id"])["status"] == "completed"
    stored = {}
    for uid in uids:
        _, blobs = adb.query([{"FindVideo": {"constraints": {"_uniqueid": ["==", uid]}, "blobs": True}}])
        stored[uid] = blobs[0]
    tasks = {t.data["video"].rsplit("/", 1)[1]: t for t in project.tasks.all()}
    return [(tasks[uid], f"aperturedb://{storage['id']}/{uid}", stored[uid]) for uid in uids]


def _get(api, task, uri, **headers):
    response = api.get(resolve_url(task, uri), **{f"HTTP_{k.upper()}": v for k, v in headers.items()})
    body = b"".join(response.streaming_content) if hasattr(response, "streaming_content") else response.content
    return response, body


def test_video_streams_with_type_etag_and_ranges(api, videos):
    task, uri, stored = videos[0]
    whole, body = _get(api, task, uri)
    assert whole.status_code == 200 and body == stored
    assert whole["Content-Type"] == "video/webm" and whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Length"] == str(len(stored)) and whole["ETag"]
    again, _ = _get(api, task, uri, if_none_match=whole["ETag"])
    assert again.status_code == 304

    size = len(stored)
    middle = size // 2
    for header, span in ((f"bytes={middle}-{middle + 99}", (middle, middle + 99)),
                         (f"bytes={middle}-", (middle, size - 1)),
                         ("bytes=0-0", (0, 0))):
        part, body = _get(api, task, uri, range=header)
        assert part.status_code == 206, header
        assert part["Content-Range"] == f"bytes {span[0]}-{span[1]}/{size}"
        assert body == stored[span[0]:span[1] + 1]


def test_seeking_reads_the_cache_not_apertureDB(api, videos):
    task, uri, stored = videos[0]
    before = dict(video_media.STATS)
    _get(api, task, uri, range="bytes=0-")
    assert video_media.STATS["fetches"] == before["fetches"] + 1
    assert video_media.STATS["bytes_fetched"] == before["bytes_fetched"] + len(stored)
    for start in range(0, len(stored), max(len(stored) // 10, 1)):  # a player seeking through the video
        part, body = _get(api, task, uri, range=f"bytes={start}-{start + 511}")
        assert part.status_code == 206 and body == stored[start:start + 512]
    assert video_media.STATS["fetches"] == before["fetches"] + 1  # fetched once, every seek from the cache
    assert video_media.STATS["hits"] >= before["hits"] + 10


def test_the_cache_stays_within_its_bound(api, videos, settings, cache_dir):
    sizes = [len(stored) for _, _, stored in videos]
    bound = max(sizes[0] + sizes[1], sizes[1] + sizes[2]) + 1  # room for two videos, not three
    settings.APERTUREDB_VIDEO_CACHE_MB = bound / (1024 * 1024)
    for task, uri, stored in videos:
        response, body = _get(api, task, uri)
        assert response.status_code == 200 and body == stored
        cached = sum(os.path.getsize(cache_dir / name) for name in os.listdir(cache_dir))
        assert cached <= bound
    assert len(os.listdir(cache_dir)) == 2  # the least recently used video made room
    first_task, first_uri, first = videos[0]
    before = video_media.STATS["fetches"]
    response, body = _get(api, first_task, first_uri, range="bytes=10-20")
    assert body == first[10:21] and video_media.STATS["fetches"] == before + 1  # evicted: fetched again

    settings.APERTUREDB_VIDEO_CACHE_MB = 1 / (1024 * 1024)  # smaller than any video: served, never cached
    task, uri, stored = videos[1]
    for name in os.listdir(cache_dir):
        os.unlink(cache_dir / name)
    response, body = _get(api, task, uri, range="bytes=5-9")
    assert response.status_code == 206 and body == stored[5:10] and os.listdir(cache_dir) == []


def test_video_gone_is_404_and_other_organizations_get_nothing(api, other_api, client, adb, videos):
    task, uri, _ = videos[2]
    assert _get(other_api, task, uri)[0].status_code in (403, 404)
    assert client.get(resolve_url(task, uri)).status_code in (401, 403, 302)
    adb.query([{"DeleteVideo": {"constraints": {"_uniqueid": ["==", uri.rsplit("/", 1)[1]]}}}])
    assert _get(api, task, uri)[0].status_code == 404
