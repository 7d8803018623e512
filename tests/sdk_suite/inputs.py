"""Stand-ins for the SDK suite's input files (its `test/input/` folder).

Upstream CI downloads 200 COCO images (`download_images.py`) and generates the CSVs with
`generateInput.py`; neither ships in the sdist. This module writes files with the same names
and CSV layouts the suite's tests and loaders read: real JPEG/PNG images made with Pillow,
blob files, entity/connection/box/descriptor CSVs. Sizes are smaller than upstream's
multiplier 10 (counts are always compared with the CSV length, so any size works) but every
CSV that goes through the parallel loader keeps more than 80 rows, the size below which the
suite's fixture falls back to the serial loader. Seeded, so a run is reproducible.
"""
import math
import os
import random
from datetime import datetime
from itertools import product

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

LABELS = ["dog", "cat", "catdog", "rocko", "philip", "froghead", "drog"]
JPEG_COUNT = 200          # input/images/0000.jpg .. 0199.jpg, as url_images.adb.csv names them
IMAGE_LICENSES = 2        # images.adb.csv = every JPEG x each license
PERSON_NAMES = ["James", "Luis", "Sole", "Maria", "Tom", "Xavi", "Dimitris", "King"] * 2
PERSON_LASTNAMES = ["Ramirez", "Berlusconi", "Copola", "Tomson", "Ferro"] * 2
DESCRIPTOR_SETS = [("setA", 2048), ("setB", 1025), ("setC", 2048), ("setD", 1025),
                   ("setE", 2048), ("setF", 1025)]


def _picture(index, size, text=""):
    """A distinct, real picture for `index` (gradient + shapes), so files differ by content."""
    rnd = random.Random(index * 7919 + size[0])
    w, h = size
    img = Image.new("RGB", size, (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = rnd.randrange(w), rnd.randrange(h)
        x1, y1 = min(w - 1, x0 + rnd.randrange(8, w)), min(h - 1, y0 + rnd.randrange(8, h))
        draw.rectangle([x0, y0, x1, y1], fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    draw.text((2, 2), f"{index}{text}", fill=(255, 255, 255))
    return img


def _ids(rnd, n, lo=0, hi=1_000_000_000):
    return rnd.sample(range(lo, hi), n)


def _numeric_columns(rnd, df, n):
    df["age"] = [int(100 * rnd.random()) for _ in range(n)]
    df["height"] = [float(200 * rnd.random()) for _ in range(n)]
    df["has_dog"] = [x > 100 for x in df["height"]]


def persons(rnd, folder):
    rows = list(product(PERSON_NAMES, PERSON_LASTNAMES))
    n = len(rows)
    df = pd.DataFrame(rows, columns=["name", "lastname"])
    df.insert(0, "EntityClass", "Person")
    df["id"] = _ids(rnd, n)
    _numeric_columns(rnd, df, n)
    df["date:dob"] = [datetime(1950 + i % 60, 1 + i % 12, 1 + i % 28).isoformat() for i in range(n)]
    df["constraint_id"] = df["id"]
    df = df.sort_values("id")
    df.to_csv(os.path.join(folder, "persons.adb.csv"), index=False)
    return df


def jpegs(folder):
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    for i in range(JPEG_COUNT):
        _picture(i, (96 + i % 5 * 8, 64 + i % 3 * 8)).save(
            os.path.join(folder, "images", f"{i:04d}.jpg"), "JPEG", quality=85)


def images(rnd, folder):
    rows = list(product([f"images/{i:04d}.jpg" for i in range(JPEG_COUNT)], range(IMAGE_LICENSES)))
    n = len(rows)
    df = pd.DataFrame(rows, columns=["filename", "license"])
    df["id"] = _ids(rnd, n)
    _numeric_columns(rnd, df, n)
    df["date:date_captured"] = datetime(2024, 5, 1).isoformat()
    df["constraint_id"] = df["id"]
    df = df.sort_values("id")
    df.to_csv(os.path.join(folder, "images.adb.csv"), index=False)
    return df


def blobs(rnd, folder):
    os.makedirs(os.path.join(folder, "blobs"), exist_ok=True)
    paths = [f"blobs/{i:04d}.blob" for i in range(20)]
    values = np.array([1.5, 2.4, 3.3, 5.5, 9.9, 111.12, 1000.20])  # test_BlobLoader reads arr[2] == 3.3
    for p in paths:
        values.tofile(os.path.join(folder, p))
    rows = list(product(paths, range(10)))
    df = pd.DataFrame(rows, columns=["filename", "license"])
    df["id"] = _ids(rnd, len(rows))
    df["constraint_id"] = df["id"]
    df.sort_values("id").to_csv(os.path.join(folder, "blobs.adb.csv"), index=False)


def connections(rnd, folder, people, imgs):
    rows = list(product(imgs["id"][::100], people["id"][::40]))
    df = pd.DataFrame(rows, columns=["_Image@id", "Person@id"])
    df.insert(0, "ConnectionClass", "has_image")
    df["confidence"] = [rnd.random() for _ in rows]
    df.to_csv(os.path.join(folder, "connections-persons-images.adb.csv"), index=False)


def bboxes(rnd, folder, imgs):
    df = pd.DataFrame({"id": imgs["id"]})
    df["x_pos"], df["y_pos"], df["width"], df["height"] = 0, 0, 100, 150
    df["confidence"] = [rnd.random() for _ in range(len(df))]
    df["label"] = [LABELS[math.floor(rnd.random() * len(LABELS))] for _ in range(len(df))]
    df.sort_values("id").to_csv(os.path.join(folder, "bboxes.adb.csv"), index=False)

    # Three rows for one box (same box_id): the conditional add must create it once.
    one = pd.DataFrame({"id": [imgs.iloc[0]["id"]] * 3})
    one["x_pos"], one["y_pos"], one["width"], one["height"] = 0, 0, 100, 150
    one["confidence"] = [rnd.random() for _ in range(3)]
    one["label"] = [LABELS[i] for i in range(3)]
    one["box_id"] = 123
    one["constraint_box_id"] = 123
    one.to_csv(os.path.join(folder, "bboxes-constraints.adb.csv"), index=False)


def descriptors(rnd, folder, imgs):
    metrics = ["L2", "IP", "CS", ["CS", "IP"], ["L2", "CS", "IP"]]
    engines = ["FaissIVFFlat", "FaissFlat", ["FaissIVFFlat", "FaissFlat"]]
    sets = pd.DataFrame({"name": [s for s, _ in DESCRIPTOR_SETS],
                         "dimensions": [d for _, d in DESCRIPTOR_SETS],
                         "engine": [rnd.choice(engines) for _ in DESCRIPTOR_SETS],
                         "metric": [rnd.choice(metrics) for _ in DESCRIPTOR_SETS]})
    sets.to_csv(os.path.join(folder, "descriptorset.adb.csv"), index=False)
    n = len(imgs)
    nprnd = np.random.default_rng(rnd.randrange(1 << 30))
    for name, dims in DESCRIPTOR_SETS[:2]:  # the suite reads setA and setB only
        np.save(os.path.join(folder, f"{name}_desc.npy"), nprnd.random((n, dims)))
        df = pd.DataFrame({"filename": f"{name}_desc.npy", "index": range(n), "set": name,
                           "id": range(n),
                           "label": [LABELS[math.floor(rnd.random() * len(LABELS))] for _ in range(n)],
                           "confidence": [rnd.random() for _ in range(n)]})
        df.to_csv(os.path.join(folder, f"{name}.adb.csv"), index=False)


def person_updates(folder):
    base = pd.read_csv(os.path.join(folder, "persons.adb.csv"))
    df = base.copy()
    df["updateif_<version_id"] = 1
    df["version_id"] = 1
    df.to_csv(os.path.join(folder, "persons-update.adb.csv"), index=False)
    df["age"] = df["age"] + 200          # changed data, same condition: no update
    df["version_id"] = df["version_id"] + 1
    df.to_csv(os.path.join(folder, "persons-update-oldversion.adb.csv"), index=False)
    df["updateif_<version_id"] = df["version_id"]  # update where stored version < 2
    df.to_csv(os.path.join(folder, "persons-update-newversion.adb.csv"), index=False)
    older = base.copy()
    older["age"] = older["age"] + 200
    older["updateif_>age"] = 30          # update where stored age > 30
    older.to_csv(os.path.join(folder, "persons-update-olderage.adb.csv"), index=False)
    base.head(10).to_csv(os.path.join(folder, "persons-exist-base.adb.csv"), index=False)
    base.head(12).tail(5).to_csv(os.path.join(folder, "persons-some-exist.adb.csv"), index=False)  # 3 overlap


def _pngs(folder, stem, count, size, text="", noise=False):
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    names = []
    for i in range(count):
        name = f"images/{stem}_{i}.png"
        img = _picture(i + 1000, size, text)
        if noise:
            rnd = random.Random(i)
            img = Image.blend(img, Image.frombytes("RGB", size, rnd.randbytes(size[0] * size[1] * 3)), 0.5)
        img.save(os.path.join(folder, name), "PNG")
        names.append(name)
    return names


def _versioned_images(rnd, names, img_ids, lo, hi):
    rows = list(product(img_ids, range(2)))
    df = pd.DataFrame(rows, columns=["img_id", "license"])
    df.insert(0, "filename", [names[i % len(names)] for i in df["img_id"]])
    n = len(df)
    df["id"] = _ids(rnd, n, lo, hi)
    _numeric_columns(rnd, df, n)
    df["date:date_captured"] = datetime(2024, 5, 1).isoformat()
    df["constraint_id"] = df["id"]
    df["version_id"] = 1
    df["updateif_<version_id"] = 1
    return df


def image_updates(rnd, folder):
    count = 50
    names = _pngs(folder, "update_images", count, (64, 64))
    base = _versioned_images(rnd, names, range(count), 0, 500_000_000)
    base.to_csv(os.path.join(folder, "images_updateif_baseload.adb.csv"), index=False)
    extra = _versioned_images(rnd, names, range(count, int(count * 1.1)), 500_000_000, 1_000_000_000)
    mixed = pd.concat([base, extra], ignore_index=True).sample(frac=1, random_state=rnd.randrange(1 << 30))
    mixed.to_csv(os.path.join(folder, "images_updateif_mixednew.adb.csv"), index=False)

    small = _pngs(folder, "update_fail_images", count, (32, 32))
    fail_base = _versioned_images(rnd, small, range(count), 0, 500_000_000)
    fail_base.to_csv(os.path.join(folder, "images_updateif_fail_baseload.adb.csv"), index=False)
    # test_Data compares stored sizes with half the first big image: big ones are noise (incompressible).
    big = _pngs(folder, "update_fail_big_images", count, (96, 96), "_bigimage", noise=True)
    fail_upd = fail_base.copy()
    fail_upd["filename"] = [big[i % count] for i in fail_upd["img_id"]]
    fail_upd["version_id"] = fail_upd["version_id"] + 1
    fail_upd["updateif_<version_id"] = fail_upd["version_id"]
    fail_upd.to_csv(os.path.join(folder, "images_updateif_fail_updates.adb.csv"), index=False)

    base.to_csv(os.path.join(folder, "images_forceupdate_baseload.adb.csv"), index=False)
    mixed.to_csv(os.path.join(folder, "images_forceupdate_mixednew.adb.csv"), index=False)
    fail_base.to_csv(os.path.join(folder, "images_forceupdate_fail_base.adb.csv"), index=False)
    fail_upd.to_csv(os.path.join(folder, "images_forceupdate_fail_updates.adb.csv"), index=False)
    blob_base, blob_upd = fail_base.copy(), fail_upd.copy()
    for df in (blob_base, blob_upd):   # the loader fills the sha column; updateif_ on it detects a new blob
        df["prop_blobsha1_imagesha"] = ""
        df["updateif_blobsha1_imagesha"] = ""
    blob_base.to_csv(os.path.join(folder, "images_forceupdate_blob_baseload.adb.csv"), index=False)
    blob_upd.to_csv(os.path.join(folder, "images_forceupdate_updates.adb.csv"), index=False)

    sparse = _pngs(folder, "spare_add_image", count, (32, 32))
    df = _versioned_images(rnd, sparse, range(count), 0, 500_000_000)
    df.head(len(df) // 2).to_csv(os.path.join(folder, "images_sparseload_base.adb.csv"), index=False)
    df.to_csv(os.path.join(folder, "images_sparseload_full.adb.csv"), index=False)


def generate(folder, seed=20240501):
    """Write every input file into `folder` (the suite's `input/`)."""
    rnd = random.Random(seed)
    os.makedirs(folder, exist_ok=True)
    people = persons(rnd, folder)
    jpegs(folder)
    imgs = images(rnd, folder)
    blobs(rnd, folder)
    connections(rnd, folder, people, imgs)
    bboxes(rnd, folder, imgs)
    descriptors(rnd, folder, imgs)
    person_updates(folder)
    image_updates(rnd, folder)
