import io

from PIL import Image


def jpeg(w=64, h=48, color=(200, 30, 30)):
    out = io.BytesIO()
    Image.new("RGB", (w, h), color).save(out, format="JPEG")
    return out.getvalue()


def png(w=32, h=16):
    out = io.BytesIO()
    Image.new("RGB", (w, h), (0, 0, 255)).save(out, format="PNG")
    return out.getvalue()


def size_of(blob):
    return Image.open(io.BytesIO(blob)).size
