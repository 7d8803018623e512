"""Generate demo data: small JPEGs with BoundingBoxes and a Polygon each.

    seed(server_or_connector, n)   # returns the number of images added
"""
import io
import random

from PIL import Image, ImageDraw

LABELS = ("cat", "dog", "car")
SIZES = ((64, 48), (80, 60), (96, 72), (120, 90), (48, 64))


def make_jpeg(width, height, rng):
    img = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    d = ImageDraw.Draw(img)
    d.rectangle((width // 4, height // 4, width * 3 // 4, height * 3 // 4),
                fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=80)
    return out.getvalue()


def image_commands(i, rng, dataset="seed", scale=1):
    """Commands + blob adding image `i` with 2-3 boxes and one polygon (`scale` enlarges the image)."""
    w, h = (side * scale for side in SIZES[i % len(SIZES)])
    q = [{"AddImage": {"_ref": 1, "properties": {
        "dataset": dataset, "split": "train" if i % 5 else "val", "index": i,
        "width": w, "height": h}}}]
    for b in range(2 + i % 2):
        bw, bh = rng.randint(8, w // 2), rng.randint(8, h // 2)
        q.append({"AddBoundingBox": {
            "image_ref": 1, "label": LABELS[(i + b) % len(LABELS)],
            "rectangle": {"x": rng.randint(0, w - bw), "y": rng.randint(0, h - bh),
                          "width": bw, "height": bh},
            "properties": {"confidence": round(rng.uniform(0.5, 1.0), 3), "index": i}}})
    q.append({"AddPolygon": {
        "image_ref": 1, "label": LABELS[i % len(LABELS)],
        "polygons": [[[1, 1], [w // 2, 2], [w // 3, h // 2]]],
        "properties": {"index": i}}})
    return q, [make_jpeg(w, h, rng)]


def _renumber(cmds, base):
    for c in cmds:
        (p,) = c.values()
        for k in ("_ref", "image_ref"):
            if k in p:
                p[k] += base
    return cmds


def seed(target, n, batch=50, dataset="seed", start=0, rng_seed=0, scale=1):
    """Add `n` images to an EmulatorServer (directly) or through an SDK Connector."""
    rng = random.Random(rng_seed)
    added = 0
    for lo in range(start, start + n, batch):
        query, blobs = [], []
        for k, i in enumerate(range(lo, min(lo + batch, start + n))):
            q, b = image_commands(i, rng, dataset, scale)
            query += _renumber(q, k)
            blobs += b
        if hasattr(target, "store"):
            from .executor import execute
            reply, _ = execute(target.store, query, blobs)
        else:
            reply, _ = target.query(query, blobs)
        if not isinstance(reply, list):
            raise RuntimeError(f"seeding failed: {reply}")
        added += len(blobs)
    return added
