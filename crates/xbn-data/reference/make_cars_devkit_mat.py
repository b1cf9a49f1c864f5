"""Writes the Cars196 devkit-layout fixtures with scipy, in the structure of the official files:
`tests/data/cars_train_annos.mat` (as in `car_devkit.tgz`: a 1×N struct array `annotations`
with fields bbox_x1, bbox_y1, bbox_x2, bbox_y2, class, fname) and
`tests/data/cars_test_annos_withlabels.mat` (the same fields, published beside the devkit).
Images go to `cars_train/<fname>` and `cars_test/<fname>`.

Run: python crates/xbn-data/reference/make_cars_devkit_mat.py (needs numpy and scipy)
"""
import os

import numpy as np
import scipy.io

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data")

files = {
    "cars_train_annos.mat": [  # x1, y1, x2, y2, class, fname
        (39, 116, 569, 375, 14, "00001.jpg"),
        (36, 116, 868, 587, 3, "00002.jpg"),
        (85, 109, 601, 381, 99, "00003.jpg"),
    ],
    "cars_test_annos_withlabels.mat": [
        (30, 52, 246, 147, 181, "00001.jpg"),
        (100, 19, 576, 203, 3, "00002.jpg"),
    ],
}
dtype = [("bbox_x1", "O"), ("bbox_y1", "O"), ("bbox_x2", "O"), ("bbox_y2", "O"),
         ("class", "O"), ("fname", "O")]
os.makedirs(OUT, exist_ok=True)
for name, rows in files.items():
    annotations = np.zeros((1, len(rows)), dtype=dtype)
    for i, (x1, y1, x2, y2, cls, fname) in enumerate(rows):
        annotations[0, i] = (np.uint16(x1), np.uint16(y1), np.uint16(x2), np.uint16(y2),
                             np.uint8(cls), fname)
    scipy.io.savemat(os.path.join(OUT, name), {"annotations": annotations},
                     do_compression=name.startswith("cars_train"), oned_as="row")
