"""Writes the Cars196 test fixtures `tests/data/cars_annos_{compressed,plain}.mat` with scipy.

The structure is that of the official `cars_annos.mat`: a 1×N struct array `annotations` with
fields relative_im_path (char), bbox_x1..bbox_y2, class, test (numeric, of mixed storage types)
and a 1×196 cell array `class_names`. Beside them it writes `cars_annos_expected.csv`, the
same table as scipy reads it back, which the Rust test compares its reading against.

Run: /work/venv/bin/python crates/xbn-data/reference/make_cars_mat.py
"""
import csv
import os

import numpy as np
import scipy.io

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data")

rows = [  # relative_im_path, x1, y1, x2, y2, class, test
    ("car_ims/000001.jpg", 112, 7, 853, 717, 1, 0),
    ("car_ims/000002.jpg", 48, 24, 441, 202, 1, 0),
    ("car_ims/000003.jpg", 7, 4, 277, 180, 98, 1),
    ("car_ims/000004.jpg", 33, 50, 197, 150, 99, 0),
    ("car_ims/000005.jpg", 5, 8, 83, 58, 196, 1),
]
dtype = [("relative_im_path", "O"), ("bbox_x1", "O"), ("bbox_y1", "O"), ("bbox_x2", "O"),
         ("bbox_y2", "O"), ("class", "O"), ("test", "O")]
annotations = np.zeros((1, len(rows)), dtype=dtype)
for i, (path, x1, y1, x2, y2, cls, test) in enumerate(rows):
    annotations[0, i] = (path, np.uint16(x1), np.uint16(y1), np.float64(x2), np.int32(y2),
                         np.uint8(cls), np.uint8(test))
class_names = np.empty((1, 196), dtype=object)
for c in range(196):
    class_names[0, c] = f"Make Model {c + 1}"

os.makedirs(OUT, exist_ok=True)
for name, compress in [("compressed", True), ("plain", False)]:
    path = os.path.join(OUT, f"cars_annos_{name}.mat")
    scipy.io.savemat(path, {"annotations": annotations, "class_names": class_names},
                     do_compression=compress, oned_as="row")

back = scipy.io.loadmat(os.path.join(OUT, "cars_annos_compressed.mat"))["annotations"][0]
with open(os.path.join(OUT, "cars_annos_expected.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["relative_im_path", "bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "test"])
    for a in back:
        w.writerow([str(a["relative_im_path"][0])] + [int(a[k].item()) for k in
                   ["bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "test"]])
