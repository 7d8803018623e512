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


def image_target(label_config, image_tag=""):
    """The Image tag named ``image_tag`` (default: the first) and the controls bound to it.

    A config without any Image tag is refused: tasks would hold the images under a key no tag shows.
    """
    interface = LabelInterface(label_config)
    tags = [tag for tag in interface.objects if tag.tag == "Image"]
    if image_tag:
        tags = [tag for tag in tags if tag.name == image_tag]
        if not tags:
            raise LabelingConfigProblem(
                f"the labeling config has no Image tag named {image_tag!r}; "
                f"Image tags: {', '.join(t.name for t in interface.objects if t.tag == 'Image') or 'none'}")
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
