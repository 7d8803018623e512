"""Deterministic image embeddings for tests and the demo: colour histograms.

No model, no download: an image's descriptor is the normalised histogram of its colours
(`bins` levels per RGB channel, so bins**3 dimensions; 64 by default). Two images of similar
colours are near neighbours under L2 and CS, so "similar" can be checked by eye and by
assertion. The same function runs in tests, the demo and user scripts, so a query vector
computed from an image's bytes finds that image at distance 0.

    vec = color_histogram(jpeg_bytes)                        # float32, sums to 1
    add_color_descriptors(server_or_connector, "colors")    # one descriptor per image
"""
import io

import numpy as np
from PIL import Image

BINS = 4
SET_NAME = "image_colors"
CONNECTION = "has_embedding"   # the class Cookbook notebooks/simple/ImageVectorSearch.ipynb uses


def color_histogram(image_bytes, bins=BINS):
    """bins**3 float32 values: the share of pixels in each RGB colour cell (sums to 1)."""
    img = Image.open(io.BytesIO(image_bytes)).convert("RGB")
    img.thumbnail((128, 128), Image.NEAREST)       # same pixels on every platform
    px = np.asarray(img, dtype=np.uint16).reshape(-1, 3) * bins // 256
    cells = (px[:, 0] * bins + px[:, 1]) * bins + px[:, 2]
    hist = np.bincount(cells, minlength=bins ** 3).astype(np.float32)
    return hist / np.float32(hist.sum())


def _query(target, query, blobs):
    if hasattr(target, "store"):                   # an EmulatorServer: run in-process
        from .executor import execute
        reply, out = execute(target.store, query, blobs)
    else:                                          # an SDK Connector
        reply, out = target.query(query, blobs)
    if not isinstance(reply, list):
        raise RuntimeError(f"query failed: {reply}")
    return reply, out


def add_color_descriptors(target, set_name=SET_NAME, constraints=None, metric="L2", bins=BINS,
                          batch=50):
    """Create the set (if missing) and one colour descriptor per image matching `constraints`
    that has none in this set yet, connected descriptor -> image by `has_embedding`.
    Returns the number of descriptors added."""
    _query(target, [{"AddDescriptorSet": {"name": set_name, "dimensions": bins ** 3,
                                          "metric": metric}}], [])
    find = {"blobs": False, "uniqueids": True}
    if constraints:
        find["constraints"] = constraints
    reply, _ = _query(target, [{"FindImage": find}], [])
    ids = [e["_uniqueid"] for e in reply[0]["FindImage"].get("entities", [])]
    added = 0
    for lo in range(0, len(ids), batch):
        chunk = ids[lo:lo + batch]
        query, blobs = [], []
        for i, uid in enumerate(chunk):
            ref = 2 * i + 1
            query.append({"FindImage": {"_ref": ref, "constraints": {"_uniqueid": ["==", uid]},
                                        "blobs": True}})
            query.append({"FindDescriptor": {"set": set_name, "is_connected_to": {"ref": ref},
                                             "results": {"count": True}}})
        reply, images = _query(target, query, [])
        adds, add_blobs = [], []
        for i, uid in enumerate(chunk):
            if reply[2 * i + 1]["FindDescriptor"]["count"]:
                continue
            ref = len(adds) // 2 + 1
            adds.append({"FindImage": {"_ref": ref, "constraints": {"_uniqueid": ["==", uid]}}})
            adds.append({"AddDescriptor": {"set": set_name, "properties": {"image_uniqueid": uid},
                                           "connect": {"ref": ref, "class": CONNECTION}}})
            add_blobs.append(color_histogram(images[i], bins).tobytes())
        if adds:
            _query(target, adds, add_blobs)
            added += len(add_blobs)
    return added
