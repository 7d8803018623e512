"""What a project's labeling config says about where ApertureDB images and regions go.

Parsed with the SDK's ``LabelInterface`` (never by hand) into a frozen :class:`ImageTarget`: the task
data key of the chosen Image tag and the controls bound to it, so ``mapping`` never hard-codes names.
"""
from dataclasses import dataclass

from label_studio_sdk.label_interface import LabelInterface

DEFAULT_DATA_KEY = "image"


class LabelingConfigProblem(ValueError):
    """The project's config has no Image tag for ApertureDB images (none at all, or none named ``data_key``)."""


@dataclass(frozen=True)
class Control:
    name: str  # from_name
    labels: frozenset


@dataclass(frozen=True)
class ImageTarget:
    data_key: str  # key in task data ("$image" -> "image")
    to_name: str  # Image tag name
    rectangles: Control = None  # RectangleLabels bound to the tag
    polygons: Control = None  # PolygonLabels bound to the tag


def _bound_control(interface, tag_name, tag_class):
    for control in interface.controls:
        if control.tag == tag_class and tag_name in (control.to_name or []):
            return Control(control.name, frozenset(getattr(control, "labels", None) or ()))
    return None


def _object_tags(interface, tag_class, name):
    """The config's ``tag_class`` object tags, or only the one named ``name`` (refused when there is none)."""
    tags = [tag for tag in interface.objects if tag.tag == tag_class]
    if not name:
        return tags
    named = [tag for tag in tags if tag.name == name]
    if not named:
        raise LabelingConfigProblem(f"the labeling config has no {tag_class} tag named {name!r}; "
                                    f"{tag_class} tags: {', '.join(t.name for t in tags) or 'none'}")
    return named


def image_target(label_config, image_tag=""):
    """The Image tag named ``image_tag`` (default: the first) and the controls bound to it.

    A config without any Image tag is refused: tasks would hold the images under a key no tag shows.
    """
    interface = LabelInterface(label_config)
    tags = _object_tags(interface, "Image", image_tag)
    if not tags:
        found = ", ".join(sorted({tag.tag for tag in interface.objects})) or "none"
        raise LabelingConfigProblem(
            "the project's labeling config has no Image tag, so ApertureDB images would land in tasks no tag "
            f"shows (object tags found: {found}); add one, e.g. <Image name=\"image\" value=\"$image\"/>, "
            "in Settings → Labeling Interface")
    tag = tags[0]
    data_key = (tag.value or "").lstrip("$") or DEFAULT_DATA_KEY
    return ImageTarget(data_key, tag.name, _bound_control(interface, tag.name, "RectangleLabels"),
                       _bound_control(interface, tag.name, "PolygonLabels"))


# ---------------------------------------------------------------- videos
# Label Studio's Video tag plays at ``frameRate`` (default 24) and numbers frames from 1
# (web/libs/editor/src/tags/object/Video/Video.js: ``framerate`` default "24", ``fullFrameRange``
# starts at 1; a ``$key`` value is read from the task data).
DEFAULT_FRAME_RATE = 24.0
MEDIA_KINDS = ("images", "videos", "frames")
_OBJECT_TAG = {"images": "Image", "frames": "Image", "videos": "Video"}


@dataclass(frozen=True)
class VideoTarget:
    """Where a video and its regions go: the Video tag's data key and name, its frame rate, and the
    controls bound to it. ``frame_rate`` is a number, or ``None`` when the tag reads it from the task
    data (``frame_rate_key`` then names that key, e.g. ``frameRate="$fps"`` -> ``"fps"``)."""

    data_key: str
    to_name: str
    frame_rate: float = DEFAULT_FRAME_RATE
    frame_rate_key: str = ""
    rectangles: Control = None  # VideoRectangle bound to the tag; labels from the Labels tags bound to it
    timeline: Control = None  # TimelineLabels bound to the tag


class MediaKindProblem(LabelingConfigProblem):
    """The storage's media kind does not fit the project's labeling config (e.g. videos, no Video tag)."""


def _frame_rate(tag):
    """``(number, task-data key)`` of the Video tag's ``frameRate`` (Label Studio reads it case-insensitively)."""
    raw = next((v for k, v in (tag.attr or {}).items() if k.lower() == "framerate"), None)
    if raw is None or str(raw).strip() == "":
        return DEFAULT_FRAME_RATE, ""
    raw = str(raw).strip()
    if raw.startswith("$"):
        return None, raw[1:]
    try:
        rate = float(raw)
    except ValueError:
        return DEFAULT_FRAME_RATE, ""  # Label Studio falls back to 24 for what is not a number
    if rate <= 0:
        return DEFAULT_FRAME_RATE, ""
    return (1 / rate if rate < 1 else rate), ""  # as Video.js normalizes a rate below 1


def _video_labels(interface, tag_name):
    """VideoRectangle has no labels of its own: a region's ``labels`` come from the Labels tags bound to
    the same Video tag (HumanSignal/label-studio-ml-backend examples/yolo/control_models/video_rectangle.py)."""
    labels = set()
    for control in interface.controls:
        if control.tag == "Labels" and tag_name in (control.to_name or []):
            labels |= set(getattr(control, "labels", None) or ())
    return frozenset(labels)


def video_target(label_config, video_tag=""):
    """The Video tag named ``video_tag`` (default: the first), its frame rate and the controls bound to it."""
    interface = LabelInterface(label_config)
    tags = _object_tags(interface, "Video", video_tag)
    if not tags:
        raise MediaKindProblem(_mismatch(interface, "videos"))
    tag = tags[0]
    data_key = (tag.value or "").lstrip("$") or "video"
    rate, rate_key = _frame_rate(tag)
    rectangles = _bound_control(interface, tag.name, "VideoRectangle")
    if rectangles is not None:
        rectangles = Control(rectangles.name, _video_labels(interface, tag.name))
    return VideoTarget(data_key, tag.name, rate, rate_key, rectangles,
                       _bound_control(interface, tag.name, "TimelineLabels"))


def _mismatch(interface, kind):
    """A message naming what the media kind needs and what the config has."""
    found = ", ".join(f"{t.tag} {t.name!r}" for t in interface.objects) or "none"
    need = _OBJECT_TAG[kind]
    example = ('<Video name="video" value="$video"/>' if need == "Video"
               else '<Image name="image" value="$image"/>')
    what = {"images": "ApertureDB images", "frames": "ApertureDB frames, shown as images",
            "videos": "ApertureDB videos"}[kind]
    return (f"the project's labeling config has no {need} tag, which media kind {kind!r} ({what}) needs "
            f"(object tags found: {found}); add one, e.g. {example}, in Settings → Labeling Interface, or "
            f"choose the media kind that matches the config")


def media_target(label_config, kind, tag=""):
    """The target of the storage's media kind: :class:`ImageTarget` for images and frames,
    :class:`VideoTarget` for videos; :class:`MediaKindProblem` names a mismatch."""
    if kind not in MEDIA_KINDS:
        raise MediaKindProblem(f"unknown media kind {kind!r}; use one of {', '.join(MEDIA_KINDS)}")
    if kind == "videos":
        return video_target(label_config, tag)
    interface = LabelInterface(label_config)
    if not any(t.tag == "Image" for t in interface.objects):
        raise MediaKindProblem(_mismatch(interface, kind))
    return image_target(label_config, tag)
