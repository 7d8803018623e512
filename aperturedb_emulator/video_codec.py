"""Video probing and frame decoding with PyAV (FFmpeg's libraries, wheels with codecs on PyPI).

ApertureDB computes a video's system properties (`_fps`, `_frame_count`, `_duration_us`,
`_frame_width`, `_frame_height`, recorded in Cookbook notebooks/simple/Videos.ipynb) and decodes
frames on the fly for FindFrame blobs (docs query_language/Reference/video_commands/frame_commands/
AddFrame, FindFrame). The emulator does the same from the stored bytes. Counting frames demuxes
packets (no decoding), so adding a large video stays fast; decoding runs only when pixels are asked
for, in one pass per video for all the frames of a command.
"""
import io
import threading
from collections import OrderedDict
from fractions import Fraction

from .errors import QueryError

_probe_cache = OrderedDict()     # id(bytes) -> (bytes, Probe): keeps the bytes alive while cached
_lock = threading.Lock()


def _av(name):
    try:
        import av  # noqa: F401  (imported lazily: only videos need it)
    except ImportError:
        raise QueryError(f"{name}: this emulator was installed without PyAV; "
                         "install ls-aperturedb[emulator] (or `pip install av`) for videos")
    return av


class Probe:
    """What the emulator knows of a stored video without decoding it."""
    __slots__ = ("fps", "frame_count", "width", "height", "times", "pts", "container")

    def system_properties(self):
        fps = int(self.fps) if self.fps.denominator == 1 else float(self.fps)
        duration = int(round(self.frame_count * 1_000_000 / self.fps)) if self.fps else 0
        return {"_fps": fps, "_frame_count": self.frame_count, "_duration_us": duration,
                "_frame_width": self.width, "_frame_height": self.height}

    def frame_at_time(self, seconds):
        """The last frame shown at `seconds` ("the latest frame that existed at the specified
        time", docs AddFrame)."""
        n = -1
        for i, t in enumerate(self.times):
            if t <= seconds + 1e-9:
                n = i
            else:
                break
        return max(n, 0)

    @property
    def duration_s(self):
        return self.frame_count / self.fps if self.fps else 0.0


def probe(name, blob):
    """Probe of an encoded video (cached per bytes object), or QueryError if it is not one."""
    with _lock:
        hit = _probe_cache.get(id(blob))
        if hit is not None and hit[0] is blob:
            _probe_cache.move_to_end(id(blob))
            return hit[1]
    av = _av(name)
    try:
        with av.open(io.BytesIO(blob)) as c:
            if not c.streams.video:
                raise QueryError(f"{name}: the blob has no video stream")
            st = c.streams.video[0]
            rate = st.average_rate or st.guessed_rate or st.base_rate
            pts = sorted(p.pts for p in c.demux(st) if p.size > 0 and p.pts is not None)
            tb = st.time_base or Fraction(1, 1)
            pr = Probe()
            pr.fps = Fraction(rate) if rate else Fraction(0)
            pr.frame_count = len(pts)
            pr.width, pr.height = st.codec_context.width, st.codec_context.height
            first = pts[0] if pts else 0
            pr.times = [float((p - first) * tb) for p in pts]
            pr.pts = pts
            pr.container = c.format.name
    except QueryError:
        raise
    except Exception as e:  # av.error.* on bytes that are not a video
        raise QueryError(f"{name}: the blob is not a decodable video ({e})")
    if pr.frame_count == 0 or not pr.width:
        raise QueryError(f"{name}: the blob has no decodable video frames")
    with _lock:
        _probe_cache[id(blob)] = (blob, pr)
        while len(_probe_cache) > 8:     # it keeps the bytes of up to 8 videos alive
            _probe_cache.popitem(last=False)
    return pr


SEEK_GAP = 48   # frames: a wanted frame further ahead than this is reached by seeking to a keyframe


def decode_frames(name, blob, numbers):
    """{frame number: PIL image} for the zero-based `numbers`: decoded in one forward pass that seeks
    to the keyframe before a wanted frame far ahead (frames are told apart by their timestamps, so a
    late frame of a long video does not cost decoding the whole video)."""
    pr = probe(name, blob)
    wanted = sorted(set(numbers))
    if wanted[-1] >= pr.frame_count:
        raise QueryError(f"{name}: frame {wanted[-1]} is past the end of the video "
                         f"({pr.frame_count} frames)")
    av = _av(name)
    index = {p: i for i, p in enumerate(pr.pts)}
    out = {}
    with av.open(io.BytesIO(blob)) as c:
        st = c.streams.video[0]
        at = -1                                  # the index of the last frame decoded
        frames = None
        for n in wanted:
            if frames is None or n - at > SEEK_GAP:
                c.seek(pr.pts[n], stream=st, backward=True, any_frame=False)
                frames = c.decode(st)
            for frame in frames:
                if frame.pts not in index:           # no usable timestamps: count from the start
                    return _decode_sequentially(name, blob, wanted)
                at = index[frame.pts]
                if at == n:
                    out[n] = frame.to_image()
                    break
                if at > n:                       # overshot: the seek landed past it
                    break
            if n not in out:
                return _decode_sequentially(name, blob, wanted)
    return out


def _decode_sequentially(name, blob, wanted):
    av = _av(name)
    want, out = set(wanted), {}
    with av.open(io.BytesIO(blob)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in want:
                out[i] = frame.to_image()
            if i >= wanted[-1]:
                break
    if len(out) != len(want):
        raise QueryError(f"{name}: frame {min(want - set(out))} could not be decoded")
    return out
