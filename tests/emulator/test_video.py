"""Videos, clips, frames and boxes on frames, through the SDK (sources: docs/emulator-evidence.md,
"Video, clips, frames"). Every video is generated here by aperturedb_emulator.sample_media."""
import io
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from aperturedb_emulator.sample_media import SHAPES, make_video, seed_videos, shape_box

from .conftest import emulator_only, ok
from .helpers import jpeg

W, H, FRAMES = 160, 120, 24


@pytest.fixture(scope="module")
def webm():
    return make_video(fps=12, width=W, height=H, frames=FRAMES, codec="vp9")


def pyav_report(blob):
    """What PyAV itself says of a video: decoded frames, average rate, size."""
    with av.open(io.BytesIO(blob)) as c:
        st = c.streams.video[0]
        count = sum(1 for _ in c.decode(video=0))
        return {"fps": Fraction(st.average_rate), "count": count,
                "width": st.codec_context.width, "height": st.codec_context.height}


def shape_extent(blob, color, tol=70):
    """(x, y, w, h) of the pixels close to `color` in an encoded image."""
    img = Image.open(io.BytesIO(blob)).convert("RGB")
    px = img.load()
    xs, ys = [], []
    for y in range(img.height):
        for x in range(img.width):
            if sum(abs(a - b) for a, b in zip(px[x, y], color)) < tol:
                xs.append(x)
                ys.append(y)
    assert xs, f"no pixel of colour {color}"
    return min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


def assert_box(found, expected, slack=3):
    assert all(abs(a - b) <= slack for a, b in zip(found, expected)), (found, expected)


def add_video(client, blob, **props):
    ok(client.query([{"AddVideo": {"properties": props}}], [blob])[0])


@pytest.mark.parametrize("codec,fps,size", [("vp9", 12, (160, 120)), ("h264", 25, (192, 108))])
def test_system_properties_are_what_pyav_reports(client, tag, codec, fps, size):
    blob = make_video(fps=fps, width=size[0], height=size[1], frames=30, codec=codec)
    add_video(client, blob, tag=tag)
    r, blobs = client.query([{"FindVideo": {"constraints": {"tag": ["==", tag]},
                                            "results": {"all_properties": True}}}])
    (e,) = ok(r)[0]["FindVideo"]["entities"]
    rep = pyav_report(blob)
    assert rep["count"] == 30 and rep["fps"] == fps
    assert (e["_fps"], e["_frame_count"]) == (fps, rep["count"])
    assert (e["_frame_width"], e["_frame_height"]) == (rep["width"], rep["height"]) == size
    assert e["_duration_us"] == round(rep["count"] * 1_000_000 / rep["fps"])
    assert blobs == []                                   # blobs default to false


def test_video_blob_comes_back_whole_and_update_delete_count(client, tag, webm):
    add_video(client, webm, tag=tag, name="a")
    r, blobs = client.query([{"FindVideo": {"constraints": {"tag": ["==", tag]}, "blobs": True,
                                            "results": {"list": ["name"]}}}])
    assert ok(r)[0]["FindVideo"]["blobs_start"] == 0
    assert r[0]["FindVideo"]["entities"] == [{"name": "a", "_blob_index": 0}]
    assert blobs == [webm]
    r, _ = client.query([{"UpdateVideo": {"constraints": {"tag": ["==", tag]},
                                          "properties": {"reviewed": True}}},
                         {"DeleteVideo": {"constraints": {"reviewed": ["==", True], "tag": ["==", tag]}}}])
    assert ok(r) == [{"UpdateVideo": {"count": 1, "status": 0}}, {"DeleteVideo": {"count": 1, "status": 0}}]
    r, _ = client.query([{"FindVideo": {"constraints": {"tag": ["==", tag]},
                                        "results": {"all_properties": True}}}])
    assert r == [{"FindVideo": {"returned": 0, "status": 0}}]   # Videos.ipynb cell 17


def test_clips_and_frames_reply_as_recorded(client, tag, webm):
    """ClipsFrames.ipynb cells 8 and 11: statuses, then the clip's and frame's system properties."""
    r, _ = client.query([
        {"AddVideo": {"_ref": 1, "properties": {"tag": tag}}},
        {"AddClip": {"video_ref": 1, "frame_number_range": {"start": 2, "stop": 20},
                     "properties": {"label": "active flames", "tag": tag}}},
        {"AddFrame": {"video_ref": 1, "frame_number": 6,
                      "properties": {"scene": "tallest flame", "tag": tag}}},
    ], [webm])
    assert ok(r) == [{"AddVideo": {"status": 0}}, {"AddClip": {"status": 0}}, {"AddFrame": {"status": 0}}]
    r, blobs = client.query([
        {"FindClip": {"constraints": {"tag": ["==", tag]}, "results": {"all_properties": True}}},
        {"FindFrame": {"constraints": {"tag": ["==", tag]}, "blobs": True,
                       "results": {"all_properties": True}}}])
    (clip,) = ok(r)[0]["FindClip"]["entities"]
    assert {k: v for k, v in clip.items() if k != "_uniqueid"} == {
        "_frame_number_range": {"start": 2, "stop": 20}, "_range_start": 2, "_range_stop": 20,
        "_range_type": 1, "label": "active flames", "tag": tag}
    frame_reply = r[1]["FindFrame"]
    (frame,) = frame_reply["entities"]
    assert frame_reply["blobs_start"] == 0 and frame["_blob_index"] == 0
    assert {k: v for k, v in frame.items() if k not in ("_uniqueid", "_blob_index")} == {
        "_frame_number": 6, "_label": "None", "scene": "tallest flame", "tag": tag}
    img = Image.open(io.BytesIO(blobs[0]))
    assert img.format == "JPEG" and img.size == (W, H)


def _frames_query(tag, webm, client, positions):
    q = [{"AddVideo": {"_ref": 1, "properties": {"tag": tag}}}]
    for key, value in positions:
        q.append({"AddFrame": {"video_ref": 1, key: value, "properties": {"tag": tag, "pos": str(value)}}})
    ok(client.query(q, [webm])[0])


def test_frame_pixels_by_number_time_and_fraction(client, tag, webm):
    """The frame blob shows the shapes where sample_media drew them in that frame; a time offset
    picks the latest frame at that time (AddFrame reference)."""
    _frames_query(tag, webm, client, [("frame_number", 5), ("time_offset", "00:00:01.05"),
                                      ("time_fraction", 0.5)])
    r, blobs = client.query([{"FindFrame": {"constraints": {"tag": ["==", tag]}, "blobs": True,
                                            "frame_numbers": True, "time_offsets": True,
                                            "time_fractions": True, "results": {"list": ["pos"]}}}])
    ents = ok(r)[0]["FindFrame"]["entities"]
    assert ents[0] == {"pos": "5", "_frame_number": 5, "_blob_index": 0}
    assert ents[1] == {"pos": "00:00:01.05", "_time_offset": "00:00:01.05", "_blob_index": 1}
    assert ents[2] == {"pos": "0.5", "_time_fraction": 0.5, "_blob_index": 2}
    # 1.05 s at 12 fps: frame 12 (shown at 1.0 s); half of 2 s: frame 12 as well
    for blob, n in zip(blobs, (5, 12, 12)):
        for k in range(2):
            expected = shape_box(k, n, width=W, height=H, frames=FRAMES, shapes=2)
            assert_box(shape_extent(blob, SHAPES[k][1]), expected)


def test_frame_as_format_and_operations(client, tag, webm):
    _frames_query(tag, webm, client, [("frame_number", 0)])
    r, blobs = client.query([{"FindFrame": {
        "constraints": {"tag": ["==", tag]}, "blobs": True, "as_format": "png",
        "operations": [{"type": "crop", "x": 10, "y": 20, "width": 100, "height": 60},
                       {"type": "resize", "width": 50, "height": 30}]}}])
    ok(r)
    img = Image.open(io.BytesIO(blobs[0]))
    assert (img.format, img.size) == ("PNG", (50, 30))


def test_frames_by_range_and_video(client, tag, webm):
    q = [{"AddVideo": {"_ref": 1, "properties": {"tag": tag, "v": 1}}},
         {"AddVideo": {"_ref": 2, "properties": {"tag": tag, "v": 2}}}]
    for n in (0, 4, 8, 12):
        q.append({"AddFrame": {"video_ref": 1, "frame_number": n, "properties": {"tag": tag}}})
    q.append({"AddFrame": {"video_ref": 2, "frame_number": 5, "properties": {"tag": tag}}})
    ok(client.query(q, [webm, webm])[0])
    r, _ = client.query([
        {"FindVideo": {"_ref": 1, "constraints": {"tag": ["==", tag], "v": ["==", 1]}}},
        {"FindFrame": {"video_ref": 1, "in_frame_number_range": {"start": 4, "stop": 12},
                       "frame_numbers": True, "sort": "_frame_number"}},
        {"FindFrame": {"is_connected_to": {"ref": 1}, "in_frame_number_range": {"stop": 4},
                       "frame_numbers": True, "sort": "_frame_number"}},
        {"FindFrame": {"constraints": {"tag": ["==", tag]}, "results": {"count": True}}}])
    ok(r)
    assert [e["_frame_number"] for e in r[1]["FindFrame"]["entities"]] == [4, 8, 12]
    assert [e["_frame_number"] for e in r[2]["FindFrame"]["entities"]] == [0, 4]
    assert r[3]["FindFrame"]["count"] == 5


def test_clips_by_range_kind_and_video(client, tag, webm):
    r, _ = client.query([
        {"AddVideo": {"_ref": 1, "properties": {"tag": tag}}},
        {"AddClip": {"video_ref": 1, "frame_number_range": {"start": 0, "stop": 9}, "properties": {"n": 1}}},
        {"AddClip": {"video_ref": 1, "frame_number_range": {"start": 8, "stop": 20}, "properties": {"n": 2}}},
        {"AddClip": {"video_ref": 1, "time_offset_range": {"start": "00:00:00.5", "stop": "1.25"},
                     "properties": {"n": 3}}},
        {"AddClip": {"video_ref": 1, "time_fraction_range": {"start": 0.25, "stop": 0.75},
                     "properties": {"n": 4}}}], [webm])
    ok(r)
    r, _ = client.query([
        {"FindVideo": {"_ref": 1, "constraints": {"tag": ["==", tag]}}},
        {"FindClip": {"_ref": 2, "video_ref": 1, "in_frame_number_range": {"start": 0, "stop": 10},
                      "results": {"list": ["n"]}}},
        {"FindClip": {"is_connected_to": {"ref": 1}, "results": {"all_properties": True}, "sort": "n"}},
        {"FindVideo": {"is_connected_to": {"ref": 2}, "results": {"list": ["tag"]}}}])
    ok(r)
    assert r[1]["FindClip"]["entities"] == [{"n": 1}]                      # fully within
    clips = r[2]["FindClip"]["entities"]
    assert [c["n"] for c in clips] == [1, 2, 3, 4]
    assert clips[2]["_time_offset_range"] == {"start": "00:00:00.5", "stop": "1.25"}
    assert [clips[2][k] for k in ("_range_type", "_range_start", "_range_stop")] == [3, 500000, 1250000]
    assert clips[3]["_time_fraction_range"] == {"start": 0.25, "stop": 0.75}
    assert r[3]["FindVideo"]["entities"] == [{"tag": tag}]


def test_boxes_on_frames(client, tag, webm):
    """A box sits on a frame through image_ref; FindBoundingBox by the frame returns it, and its blob
    is the frame cropped to the box (showing the shape drawn there)."""
    x, y, w, h = shape_box(1, 8, width=W, height=H, frames=FRAMES, shapes=2)
    r, _ = client.query([
        {"AddVideo": {"_ref": 1, "properties": {"tag": tag}}},
        {"AddFrame": {"_ref": 2, "video_ref": 1, "frame_number": 8, "properties": {"tag": tag}}},
        {"AddBoundingBox": {"image_ref": 2, "label": "person",
                            "rectangle": {"x": x, "y": y, "width": w, "height": h},
                            "properties": {"track_id": "t1"}}}], [webm])
    ok(r)
    r, blobs = client.query([
        {"FindFrame": {"_ref": 1, "constraints": {"tag": ["==", tag]}, "uniqueids": True}},
        {"FindBoundingBox": {"image_ref": 1, "coordinates": True, "labels": True, "blobs": True,
                             "results": {"list": ["track_id"]}}},
        {"FindBoundingBox": {"is_connected_to": {"ref": 1}, "group_by_source": True, "uniqueids": True}},
        {"FindFrame": {"is_connected_to": {"ref": 1}, "results": {"count": True}}}])
    ok(r)
    (box,) = r[1]["FindBoundingBox"]["entities"]
    assert box["_coordinates"] == {"x": x, "y": y, "width": w, "height": h}
    assert (box["_label"], box["track_id"]) == ("person", "t1")
    crop = Image.open(io.BytesIO(blobs[0])).convert("RGB")
    assert crop.size == (w, h)
    assert sum(abs(a - b) for a, b in zip(crop.getpixel((w // 2, h // 2)), SHAPES[1][1])) < 70
    (frame,) = r[0]["FindFrame"]["entities"]
    assert list(r[2]["FindBoundingBox"]["entities"]) == [frame["_uniqueid"]]
    assert r[3]["FindFrame"]["count"] == 0          # the box is not a frame


@emulator_only
def test_delete_frame_and_video_take_what_hangs_on_them(client, tag, webm):
    """An emulator assumption (docs/emulator-evidence.md): as DeleteImage does with regions."""
    seed_videos(client, 1, dataset=tag, frames=FRAMES, width=W, height=H, box_every=8)
    count = [{"FindClip": {"results": {"count": True}}}, {"FindFrame": {"results": {"count": True}}},
             {"FindBoundingBox": {"results": {"count": True}}}]
    r, _ = client.query(count)
    assert [list(c.values())[0]["count"] for c in r] == [3, 4, 8]
    ok(client.query([{"DeleteFrame": {"constraints": {"_frame_number": ["==", 0]}}}])[0])
    r, _ = client.query(count)
    assert [list(c.values())[0]["count"] for c in r] == [3, 3, 6]
    r, _ = client.query([{"DeleteVideo": {"constraints": {"dataset": ["==", tag]}}}] + count)
    assert [list(c.values())[0]["count"] for c in r[1:]] == [0, 0, 0]


def test_seeded_videos_carry_labelled_clips_and_tracks(client, tag):
    seed_videos(client, 2, dataset=tag, frames=FRAMES, width=W, height=H, box_every=4)
    r, _ = client.query([
        {"FindVideo": {"_ref": 1, "constraints": {"dataset": ["==", tag], "index": ["==", 1]},
                       "results": {"list": ["_frame_count", "_fps"]}}},
        {"FindClip": {"video_ref": 1, "results": {"list": ["label", "_range_start", "_range_stop"]},
                      "sort": "_range_start"}},
        {"FindFrame": {"_ref": 2, "video_ref": 1, "frame_numbers": True}},
        {"FindBoundingBox": {"image_ref": 2, "group_by_source": True, "coordinates": True, "labels": True,
                             "results": {"list": ["track_id"]}}}])
    ok(r)
    assert r[0]["FindVideo"]["entities"][0]["_frame_count"] == FRAMES
    assert [(c["label"], c["_range_start"], c["_range_stop"]) for c in r[1]["FindClip"]["entities"]] == [
        ("enter", 0, 7), ("crossing", 8, 15), ("exit", 16, 23)]
    frames, _ = client.query([
        {"FindVideo": {"_ref": 1, "constraints": {"dataset": ["==", tag], "index": ["==", 1]}}},
        {"FindFrame": {"video_ref": 1, "frame_numbers": True, "uniqueids": True}}])
    numbers = {f["_uniqueid"]: f["_frame_number"] for f in ok(frames)[1]["FindFrame"]["entities"]}
    assert sorted(numbers.values()) == [0, 4, 8, 12, 16, 20, 23]
    for uid, boxes in r[3]["FindBoundingBox"]["entities"].items():
        for b in boxes:
            k = int(b["track_id"].split("-t")[1])
            assert b["track_id"].startswith("v1-") and b["_label"] == SHAPES[k][0]
            x, y, w, h = shape_box(k, numbers[uid], width=W, height=H, frames=FRAMES, shapes=2)
            assert b["_coordinates"] == {"x": x, "y": y, "width": w, "height": h}


def test_bad_reference_rolls_back_the_whole_transaction(client, tag, webm):
    r, _ = client.query([
        {"AddVideo": {"_ref": 1, "properties": {"tag": tag}}},
        {"AddImage": {"_ref": 2, "properties": {"tag": tag}}},
        {"AddClip": {"video_ref": 2, "frame_number_range": {"start": 0, "stop": 3}}}],
        [webm, jpeg()])
    assert isinstance(r, dict) and r["status"] == -1 and "video_ref" in r["info"]
    assert r["FailedCommand"] == {"AddClip": {"video_ref": 2, "frame_number_range": {"start": 0, "stop": 3}}}
    r, _ = client.query([{"FindVideo": {"constraints": {"tag": ["==", tag]}, "results": {"count": True}}}])
    assert r[0]["FindVideo"]["count"] == 0
    r, _ = client.query([{"AddFrame": {"video_ref": 7, "frame_number": 1}}])
    assert r["status"] == -1 and "video_ref" in r["info"]


@emulator_only
@pytest.mark.parametrize("query,named", [
    ({"AddClip": {"video_ref": 1, "frame_number_range": {"start": 0, "stop": 1}, "colour": 1}}, "colour"),
    ({"AddFrame": {"video_ref": 1, "frame_number": 1, "time_offset": "1"}}, "time_offset"),
    ({"AddClip": {"video_ref": 1, "frame_number_range": {"start": 0}}}, "stop"),
    ({"FindClip": {"blobs": True}}, "blobs"),
    ({"FindClip": {"fast_cut": True}}, "fast_cut"),
    ({"FindVideo": {"as_codec": "h264"}}, "as_codec"),
    ({"FindVideo": {"operations": [{"type": "interval", "start": 0, "stop": 4, "step": 1}]}}, "operations"),
    ({"FindFrame": {"as_format": "tiff"}}, "as_format"),
    ({"FindFrame": {"operations": [{"type": "blur"}]}}, "blur"),
    ({"FindFrame": {"in_frame_number_range": {"start": 0}, "in_time_offset_range": {"stop": "1"}}},
     "in_time_offset_range"),
])
def test_unsupported_parameters_fail_by_name(client, webm, query, named):
    q = [{"AddVideo": {"_ref": 1}}, query] if "video_ref" in list(query.values())[0] else [query]
    r, _ = client.query(q, [webm] if len(q) == 2 else [])
    assert isinstance(r, dict) and r["status"] == -1, r
    assert named in r["info"], r["info"]


def test_a_blob_that_is_not_a_video_fails(client):
    r, _ = client.query([{"AddVideo": {"properties": {"x": 1}}}], [b"not a video at all"])
    assert isinstance(r, dict) and r["status"] == -1 and "video" in r["info"]


@emulator_only
def test_videos_clips_and_frames_survive_a_restart(tmp_path, client):
    from aperturedb_emulator.server import EmulatorServer
    from .conftest import connect
    with EmulatorServer(host="127.0.0.1", port=0, data_dir=str(tmp_path)) as srv:
        seed_videos(srv, 1, frames=12, width=W, height=H, box_every=6)
    with EmulatorServer(host="127.0.0.1", port=0, data_dir=str(tmp_path)) as srv:
        c = connect(srv)
        r, blobs = c.query([
            {"FindClip": {"results": {"all_properties": True}, "sort": "_range_start", "limit": 1}},
            {"FindFrame": {"_ref": 1, "blobs": True, "frame_numbers": True, "sort": "_frame_number",
                           "limit": 1}},
            {"FindBoundingBox": {"image_ref": 1, "coordinates": True, "results": {"list": ["track_id"]},
                                 "sort": "track_id"}}])
        c.close()
    ok(r)
    assert r[0]["FindClip"]["entities"][0]["_frame_number_range"] == {"start": 0, "stop": 3}
    assert r[1]["FindFrame"]["entities"] == [{"_frame_number": 0, "_blob_index": 0}]
    assert [b["_coordinates"]["x"] for b in r[2]["FindBoundingBox"]["entities"]] == [
        shape_box(k, 0, width=W, height=H, frames=12)[0] for k in range(2)]
    assert Image.open(io.BytesIO(blobs[0])).size == (W, H)


def test_noisy_videos_are_large_and_still_show_the_shapes(client, tag):
    """sample_media's benchmark videos: noise makes them big; the shapes stay where they are drawn."""
    small = make_video(width=W, height=H, frames=FRAMES)
    big = make_video(width=W, height=H, frames=FRAMES, noise=True, bitrate="8M")
    assert len(big) > 10 * len(small)
    r, blobs = client.query([{"AddVideo": {"_ref": 1, "properties": {"tag": tag}}},
                             {"AddFrame": {"_ref": 2, "video_ref": 1, "frame_number": 9}},
                             {"FindFrame": {"constraints": {"_frame_number": ["==", 9]}, "blobs": True,
                                            "as_format": "png"}}], [big])
    ok(r)
    img = Image.open(io.BytesIO(blobs[0])).convert("RGB")
    x, y, w, h = shape_box(0, 9, width=W, height=H, frames=FRAMES)
    red = {(i, j) for j in range(H) for i in range(W)
           if sum(abs(a - b) for a, b in zip(img.getpixel((i, j)), SHAPES[0][1])) < 60}
    inside = {(i, j) for (i, j) in red if x <= i < x + w and y <= j < y + h}
    assert len(inside) > 0.6 * w * h and len(red - inside) < 0.01 * W * H


@pytest.mark.parametrize("codec", ["vp9", "h264"])
def test_frame_pixels_are_exactly_the_decoded_frame_far_into_a_video(client, tag, codec):
    """Frames far apart (reached by seeking to a keyframe) are pixel for pixel the frames PyAV decodes
    from the start."""
    blob = make_video(width=W, height=H, frames=240, fps=24, codec=codec)
    wanted = [3, 4, 130, 239]
    with av.open(io.BytesIO(blob)) as c:
        decoded = {i: f.to_ndarray(format="rgb24") for i, f in enumerate(c.decode(video=0)) if i in wanted}
    q = [{"AddVideo": {"_ref": 1, "properties": {"tag": tag}}}]
    q += [{"AddFrame": {"video_ref": 1, "frame_number": n}} for n in wanted]
    q += [{"FindFrame": {"video_ref": 1, "blobs": True, "as_format": "png", "frame_numbers": True,
                         "sort": "_frame_number"}}]
    r, blobs = client.query(q, [blob])
    assert [e["_frame_number"] for e in ok(r)[-1]["FindFrame"]["entities"]] == wanted
    for n, png in zip(wanted, blobs):
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), decoded[n]), n


@emulator_only
@pytest.mark.parametrize("query,named", [
    ({"FindClip": {"labels": True}}, "labels"),          # not on the FindClip reference
    ({"UpdateFrame": {"label": "x"}}, "label"),
])
def test_undocumented_parameters_are_unknown(client, query, named):
    r, _ = client.query([query])
    assert isinstance(r, dict) and r["info"].endswith(f"unknown parameter '{named}'"), r
