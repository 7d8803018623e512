"""Test and demo videos made at run time (never downloaded), and a seeding function.

Every video shows coloured rectangles moving in straight lines over a dark background; where each
shape is in each frame is a pure function, so a test can decode a frame and assert a box.

    make_video(*, fps=10, width=320, height=240, frames=30, codec="vp9", shapes=2, noise=False,
               bitrate=None) -> bytes
        WebM/VP9 (codec="vp9", plays in Debian's Chromium) or MP4/H.264 (codec="h264"). noise=True
        draws the shapes over random noise and bitrate (e.g. "40M") fixes the rate: large files for
        media benchmarks (640x360 VP9 at 40M: about 0.1 MB per frame, about 5 s per 60 frames on 2
        busy cores; MP4/H.264 is faster).
    shape_box(k, frame, *, width=320, height=240, frames=30, shapes=2) -> (x, y, w, h)
        Pixel rectangle of shape k in zero-based `frame` (x, y = top-left corner).
    SHAPES: ((label, (r, g, b)), ...) in shape order: shape k has label SHAPES[k][0].
    clip_ranges(frames) -> [(label, start, stop)]
        Three clips cutting the video in thirds: "enter", "crossing", "exit" (stop inclusive).
    video_commands(i, *, dataset="seed-video", fps, width, height, frames, codec, shapes,
                   box_every=5) -> (commands, blobs)
        One transaction adding video i: AddVideo (properties dataset, index, name), one AddClip per
        clip_ranges() entry with property "label", and an AddFrame every `box_every` frames (and the
        last) each with one AddBoundingBox per shape (label, property "track_id" = "v<i>-t<k>",
        "score", rectangle = shape_box()).
    seed_videos(target, n, *, start=0, **video_commands kwargs) -> number of videos added
        `target` is an EmulatorServer (queried in-process) or an SDK Connector.
"""
import io
from fractions import Fraction

SHAPES = (("car", (230, 40, 40)), ("person", (40, 200, 60)), ("ball", (50, 90, 240)))
BACKGROUND = (28, 28, 28)
CODECS = {"vp9": ("libvpx-vp9", "webm"), "h264": ("libx264", "mp4")}


def shape_box(k, frame, *, width=320, height=240, frames=30, shapes=2):
    """Shape k moves horizontally in its own lane; even shapes go right, odd ones left."""
    w, h = (width // 5) & ~1, (height // 5) & ~1
    lane = (height // shapes) * k + (height // shapes - h) // 2
    left, right = 4 + 8 * k, width - w - 4 - 8 * k
    t = frame / max(frames - 1, 1)
    x0, x1 = (left, right) if k % 2 == 0 else (right, left)
    x = int(round(x0 + (x1 - x0) * t)) & ~1
    return x, lane & ~1, w, h


def _draw(frame, width, height, frames, shapes, backgrounds):
    import numpy as np
    if backgrounds:
        img = backgrounds[frame % len(backgrounds)].copy()
    else:
        img = np.empty((height, width, 3), np.uint8)
        img[:] = BACKGROUND
    for k in range(shapes):
        x, y, w, h = shape_box(k, frame, width=width, height=height, frames=frames, shapes=shapes)
        img[y:y + h, x:x + w] = SHAPES[k % len(SHAPES)][1]
    return img


def make_video(*, fps=10, width=320, height=240, frames=30, codec="vp9", shapes=2, noise=False,
               bitrate=None):
    import av
    import numpy as np
    codec_name, container = CODECS[codec]
    rng = np.random.default_rng(0)
    backgrounds = ([rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(8)]
                   if noise else [])
    out = io.BytesIO()
    with av.open(out, "w", format=container) as c:
        st = c.add_stream(codec_name, rate=Fraction(fps).limit_denominator(1001))
        st.width, st.height, st.pix_fmt = width, height, "yuv420p"
        st.options = ({"crf": "20", "b:v": "0", "deadline": "realtime", "cpu-used": "8"}
                      if codec == "vp9" else {"crf": "18", "preset": "veryfast"})
        if bitrate:
            st.options = {**{k: v for k, v in st.options.items() if k != "crf"}, "b:v": bitrate}
        for f in range(frames):
            vf = av.VideoFrame.from_ndarray(_draw(f, width, height, frames, shapes, backgrounds),
                                            format="rgb24")
            for pkt in st.encode(vf):
                c.mux(pkt)
        for pkt in st.encode():
            c.mux(pkt)
    return out.getvalue()


def clip_ranges(frames):
    third = frames // 3
    return [("enter", 0, third - 1), ("crossing", third, 2 * third - 1), ("exit", 2 * third, frames - 1)]


def video_commands(i, *, dataset="seed-video", fps=10, width=320, height=240, frames=30,
                   codec="vp9", shapes=2, box_every=5):
    q = [{"AddVideo": {"_ref": 1, "properties": {
        "dataset": dataset, "index": i, "name": f"{dataset}-{i}"}}}]
    for label, start, stop in clip_ranges(frames):
        q.append({"AddClip": {"video_ref": 1, "frame_number_range": {"start": start, "stop": stop},
                              "properties": {"label": label}}})
    keyframes = sorted(set(range(0, frames, box_every)) | {frames - 1})
    ref = 2
    for n in keyframes:
        q.append({"AddFrame": {"_ref": ref, "video_ref": 1, "frame_number": n,
                               "properties": {"dataset": dataset}}})
        for k in range(shapes):
            x, y, w, h = shape_box(k, n, width=width, height=height, frames=frames, shapes=shapes)
            q.append({"AddBoundingBox": {
                "image_ref": ref, "label": SHAPES[k % len(SHAPES)][0],
                "rectangle": {"x": x, "y": y, "width": w, "height": h},
                "properties": {"track_id": f"v{i}-t{k}", "score": 0.9}}})
        ref += 1
    blob = make_video(fps=fps, width=width, height=height, frames=frames, codec=codec, shapes=shapes)
    return q, [blob]


def seed_videos(target, n, *, start=0, **kwargs):
    added = 0
    for i in range(start, start + n):
        query, blobs = video_commands(i, **kwargs)
        if hasattr(target, "store"):
            from .executor import execute
            reply, _ = execute(target.store, query, blobs)
        else:
            reply, _ = target.query(query, blobs)
        if not isinstance(reply, list):
            raise RuntimeError(f"seeding videos failed: {reply}")
        added += 1
    return added
