"""AddImage, FindImage, UpdateImage, DeleteImage (pixels via Pillow)."""
import io

from PIL import Image, UnidentifiedImageError

from ..errors import IMAGE_EXISTS, ParameterError, QueryError, STATUS_OK
from ..store import BBOX_TO_IMAGE, IMAGE, POLYGON_TO_IMAGE
from .base import ADD_PARAMS, Command, DELETE_PARAMS, FIND_PARAMS, UPDATE_PARAMS
from .common import (apply_connect, bind_objects, conditional_existing, exists_response, find_with_blobs,
                     select_objects, targets, update_props)
from ..constraints import parse_properties

FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "tif": "TIFF", "tiff": "TIFF",
           "bmp": "BMP", "webp": "WEBP", "gif": "GIF"}
PIL_TO_FORMAT = {"JPEG": "jpg", "PNG": "png", "TIFF": "tif", "BMP": "bmp", "WEBP": "webp", "GIF": "gif"}


def decode(name, blob):
    try:
        img = Image.open(io.BytesIO(blob))
        fmt = PIL_TO_FORMAT.get(img.format)
        if fmt is None:
            raise QueryError(f"{name}: unsupported image format {img.format}")
        return img, fmt
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise QueryError(f"{name}: the blob is not a decodable image ({e})")


def encode(img, fmt):
    out = io.BytesIO()
    pil = FORMATS[fmt]
    if pil == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    img.save(out, format=pil)
    return out.getvalue()


def _num(name, op, key, required=True):
    v = op.get(key)
    if v is None and not required:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ParameterError(f"{name}: operation '{op.get('type')}' needs a number '{key}'")
    return v


# The keys each operation takes (docs.aperturedata.io query_language/Reference/shared_command_parameters/
# operations: resize width/height (or scale), crop x/y/width/height, rotate angle/resize, flip code,
# threshold value). Other types and keys fail by name.
OPERATION_KEYS = {"resize": {"width", "height", "scale"}, "crop": {"x", "y", "width", "height"},
                  "rotate": {"angle", "resize"}, "flip": {"code"}, "threshold": {"value"}}


def check_operations(name, operations):
    for op in operations:
        if not isinstance(op, dict) or not isinstance(op.get("type"), str):
            raise ParameterError(f"{name}: each operation needs a 'type'")
        keys = OPERATION_KEYS.get(op["type"])
        if keys is None:
            raise ParameterError(f"{name}: unsupported operation type '{op['type']}'")
        for k in op:
            if k != "type" and k not in keys:
                raise ParameterError(f"{name}: unknown key in operation '{op['type']}': '{k}'")


def apply_operations(name, img, operations):
    for op in operations or []:
        t = op["type"]
        if t == "resize":
            w, h = op.get("width"), op.get("height")
            if w is None and h is None:
                scale = _num(name, op, "scale")
                w, h = img.width * scale, img.height * scale
            elif w is None:
                h = _num(name, op, "height")
                w = img.width * h / img.height
            elif h is None:
                w = _num(name, op, "width")
                h = img.height * w / img.width
            else:
                w, h = _num(name, op, "width"), _num(name, op, "height")
            img = img.resize((max(1, int(round(w))), max(1, int(round(h)))))
        elif t == "crop":
            x, y = _num(name, op, "x"), _num(name, op, "y")
            w, h = _num(name, op, "width"), _num(name, op, "height")
            img = img.crop((int(x), int(y), int(x + w), int(y + h)))
        elif t == "rotate":
            angle = _num(name, op, "angle")
            img = img.rotate(-angle, expand=bool(op.get("resize", False)))
        elif t == "flip":
            code = op.get("code", 1)
            if code == 0:
                img = img.transpose(Image.FLIP_TOP_BOTTOM)
            elif code > 0:
                img = img.transpose(Image.FLIP_LEFT_RIGHT)
            else:
                img = img.transpose(Image.ROTATE_180)
        else:  # threshold
            v = _num(name, op, "value")
            img = img.convert("L").point(lambda p: 255 if p > v else 0)
    return img


def image_bytes(name, o, p):
    ops = p.get("operations")
    as_format = p.get("as_format")
    if as_format is not None and as_format not in FORMATS:
        raise ParameterError(f"{name}: as_format must be one of jpg, png")
    if not ops and (as_format is None or as_format == o.fmt):
        return o.blob
    img = Image.open(io.BytesIO(o.blob))
    img.load()
    img = apply_operations(name, img, ops)
    return encode(img, as_format or o.fmt)


def add_image(txn, name, p):
    blob = txn.next_blob(name)
    img, fmt = decode(name, blob)
    props = parse_properties(p.get("properties", {}))
    existing = conditional_existing(txn, name, p, IMAGE)
    if existing:
        return exists_response(txn, p, existing, IMAGE_EXISTS)
    want = p.get("format")
    if want is not None:
        if want not in FORMATS:
            raise ParameterError(f"{name}: format must be one of jpg, png")
        if FORMATS[want] != FORMATS[fmt]:
            img.load()
            blob, fmt = encode(img, want), want
    o = txn.store.add_object(IMAGE, props)
    o.blob, o.fmt, o.width, o.height = bytes(blob), fmt, img.width, img.height
    apply_connect(txn, name, p, o)
    bind_objects(txn, p, [o])
    return {"status": STATUS_OK}


def find_image(txn, name, p):
    """blobs defaults to false: FindImage reference lists "blobs ... (Default: false)" and the
    Cookbook's recorded FindImage without "blobs" has no blobs_start/_blob_index
    (notebooks/simple/Images.ipynb, server 0.17.23)."""
    return find_with_blobs(txn, name, p, select_objects(txn, name, p, IMAGE),
                           lambda items: (image_bytes(name, o, p) for o in items))


def update_image(txn, name, p):
    items = targets(txn, name, p, IMAGE)
    update_props(txn, name, p, items)
    if p.get("operations"):
        for o in items:
            img = Image.open(io.BytesIO(o.blob))
            img.load()
            img = apply_operations(name, img, p["operations"])
            txn.store.set_attr(o, "blob", encode(img, o.fmt))
            txn.store.set_attr(o, "width", img.width)
            txn.store.set_attr(o, "height", img.height)
    return {"status": STATUS_OK, "count": len(items)}


def delete_image(txn, name, p):
    items = targets(txn, name, p, IMAGE)
    store = txn.store
    for o in items:
        for c in list(store.in_edges.get(o.oid, {}).values()):
            if c.cls in (BBOX_TO_IMAGE, POLYGON_TO_IMAGE) and c.src.oid in store.objects:
                store.delete_object(c.src)
        store.delete_object(o)
    return {"status": STATUS_OK, "count": len(items)}


def check_image_params(name, p):
    check_operations(name, p.get("operations", []))
    for key in ("format", "as_format"):
        if key in p and p[key] not in FORMATS:
            raise ParameterError(f"{name}: {key} must be one of {', '.join(FORMATS)}")


COMMANDS = {
    "AddImage": Command(add_image, {**ADD_PARAMS, "format": "str"}, blobs=lambda p: 1,
                        check=check_image_params),
    "FindImage": Command(find_image, {**FIND_PARAMS, "blobs": "bool", "as_format": "str",
                                      "operations": "list"}, check=check_image_params),
    "UpdateImage": Command(update_image, {**UPDATE_PARAMS, "operations": "list"},
                           check=check_image_params),
    "DeleteImage": Command(delete_image, dict(DELETE_PARAMS)),
}
