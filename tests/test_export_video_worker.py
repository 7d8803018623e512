"""Video annotations through a real Celery worker (and beat) on Redis: rapid edits of a track end in
the last version, and ApertureDB down while saving leaves nothing lost."""
import pytest

from tests.fixtures.aperturedb import REAL, ApertureDBTarget
from tests.fixtures.export import annotate, annotations_in, create_target, update
from tests.test_export_worker import _states, wait_for, workers  # noqa: F401  (workers is a fixture)
from tests.video_export_helpers import add_video, boxes_of, clips_of, frames_at, segments, track, video_project, video_task

pytestmark = pytest.mark.worker


def test_rapid_edits_of_a_track_end_in_the_last_version(api, adb, user, workers):  # noqa: F811
    workers()
    project = video_project(user)
    video = add_video(adb)
    task = video_task(project, adb, video)
    target = create_target(api, project, adb)
    aid = annotate(api, task, [track(frames=((2, 1.0), (8, 2.0)))])
    for i in range(1, 16):
        update(api, aid, [track(frames=((2 + i, float(i)), (20, 50.0))), segments(ranges=((i, i + 2),))])
    wait_for(lambda: _states(target) == {"exported": 1}, timeout=180, what="the last version exported")

    assert [(b["ls_frame"], b["frame"]["_frame_number"]) for b in boxes_of(adb, aid)] == [(17, 16), (20, 19)]
    assert [c["_frame_number_range"] for c in clips_of(adb, aid)] == [{"start": 14, "stop": 16}]
    # Every intermediate version added its frame at most once; the frames stay, the boxes moved on.
    assert all(len(frames_at(adb, video, n)) <= 1 for n in range(2, 17))
    [entity] = annotations_in(adb, aid)
    from tasks.models import Annotation

    assert target.links.get().exported_version == Annotation.objects.get(id=aid).updated_at


@pytest.mark.skipif(REAL, reason="stops and restarts the emulator")
def test_apertureDB_down_while_saving_video_annotations(api, user, workers, tmp_path):  # noqa: F811
    from aperturedb_emulator.server import EmulatorServer

    server = EmulatorServer(port=0, data_dir=str(tmp_path / "adb")).start()
    adb = ApertureDBTarget("127.0.0.1", server.port, "admin", "admin", use_ssl=False, server=server)
    try:
        project = video_project(user)
        video = add_video(adb)
        tasks = [video_task(project, adb, video) for _ in range(5)]
        target = create_target(api, project, adb)
        workers()
        server.stop()
        ids = [annotate(api, tasks[i % 5], [track(f"t{i}", frames=((i + 1, 5.0),)), segments(f"s{i}")])
               for i in range(20)]
        assert _states(target).get("exported", 0) == 0
        server = adb.server = EmulatorServer(port=adb.port, data_dir=str(tmp_path / "adb")).start()
        wait_for(lambda: _states(target) == {"exported": 20}, timeout=180, what="20 exports after the restart")
        assert sorted(e["ls_annotation_id"] for e in annotations_in(adb)) == sorted(ids)
        assert all(len(boxes_of(adb, aid)) == 1 and len(clips_of(adb, aid)) == 2 for aid in ids)
        assert all(len(frames_at(adb, video, n)) == 1 for n in range(20))
    finally:
        server.stop()
