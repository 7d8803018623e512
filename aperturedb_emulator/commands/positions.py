"""Positions in a video: frame numbers, time offsets, time fractions, and their ranges.

docs.aperturedata.io query_language/Reference/shared_command_parameters/video_position: frame numbers
are zero-based; a time offset is the string "[[HH:]MM:]SS[.n...]" since the start of the video; a
fraction is in [0, 1]; ranges are {"start", "stop"} with "stop" inclusive. A clip's `_range_type` is
1 for frame numbers and 3 for time offsets (then `_range_start`/`_range_stop` are microseconds):
Cookbook notebooks/simple/ClipsFrames.ipynb (recorded) and the FindClip reference example. Type 2
for fractions is an assumption (docs/emulator-evidence.md).
"""
import re

from ..errors import ParameterError

FRAME, FRACTION, TIME = 1, 2, 3
RANGE_KEYS = {"frame_number_range": FRAME, "time_fraction_range": FRACTION, "time_offset_range": TIME}
IN_RANGE_KEYS = {"in_" + k: v for k, v in RANGE_KEYS.items()}
RANGE_NAMES = {v: k for k, v in RANGE_KEYS.items()}
_TIME = re.compile(r"^(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d+)?)$")


def parse_time(name, key, value):
    """Seconds of a time offset string, or ParameterError naming the parameter."""
    m = _TIME.match(value) if isinstance(value, str) else None
    if not m:
        raise ParameterError(f"{name}: {key} must be a time \"[[HH:]MM:]SS[.n]\", got {value!r}")
    h, mnt, s = m.groups()
    return int(h or 0) * 3600 + int(mnt or 0) * 60 + float(s)


def check_point(name, key, kind, value):
    """A single position (frame_number, time_offset, time_fraction) -> its numeric value
    (frame number, seconds, fraction)."""
    if kind == TIME:
        return parse_time(name, key, value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{name}: {key} must be a number")
    if kind == FRAME:
        if value < 0 or int(value) != value:
            raise ParameterError(f"{name}: {key} must be a zero-based frame number")
        return int(value)
    if not 0 <= value <= 1:
        raise ParameterError(f"{name}: {key} must be a fraction between 0 and 1")
    return float(value)


def check_range(name, key, kind, r, need_both):
    """{start, stop} of a range -> (start, stop) numeric (None where open), checked."""
    if not isinstance(r, dict):
        raise ParameterError(f"{name}: {key} must be an object with 'start' and 'stop'")
    for k in r:
        if k not in ("start", "stop"):
            raise ParameterError(f"{name}: unknown key in '{key}': '{k}'")
    if need_both and ("start" not in r or "stop" not in r):
        raise ParameterError(f"{name}: {key} needs both 'start' and 'stop'")
    if not r:
        raise ParameterError(f"{name}: {key} needs 'start' or 'stop'")
    start = check_point(name, f"{key}.start", kind, r["start"]) if "start" in r else None
    stop = check_point(name, f"{key}.stop", kind, r["stop"]) if "stop" in r else None
    if start is not None and stop is not None and start > stop:
        raise ParameterError(f"{name}: {key}.start must not be after {key}.stop")
    return start, stop


def one_of(name, p, keys, required):
    """The one key of `keys` present in p (None if none and not required)."""
    present = [k for k in keys if k in p]
    if len(present) > 1:
        raise ParameterError(f"{name}: give only one of {', '.join(present)}")
    if not present:
        if required:
            raise ParameterError(f"{name}: one of {', '.join(keys)} is required")
        return None
    return present[0]


def stored_bounds(kind, start, stop):
    """`_range_start`/`_range_stop` as stored: frames as integers, times in microseconds."""
    if kind == TIME:
        return int(round(start * 1_000_000)), int(round(stop * 1_000_000))
    return start, stop


def within(value, start, stop):
    return (start is None or value >= start) and (stop is None or value <= stop)
