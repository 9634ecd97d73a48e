#!/usr/bin/env python3
"""Writes a small random but valid model version, as docs/model-format.md describes.

    python3 tests/python/write_model_version.py MODEL_BASE [SEED [POPULARITY_WEIGHT]]

Publishes MODEL_BASE/<next version>/ (50 customers, 4 products, 2 factors,
3 clusters, 2 numeric features) and prints the version directory on stdout.
POPULARITY_WEIGHT (default 0, plain PureSVD) becomes the manifest's
training.popularity_weight; it must be finite and >= 0.
Needs only the standard library and numpy. This file is reproduced in
docs/model-format.md; keep the two identical.
"""

import datetime
import errno
import hashlib
import io
import json
import math
import os
import re
import sys
import time

import numpy as np

NUM_CUSTOMERS = 50
NUM_FACTORS = 2
NUM_CLUSTERS = 3
PRODUCTS = [  # (id, name, family), in catalogue order: row i of product_factors.npy.
    ("credit_card", "Credit card", "cards"),
    ("debit_card", "Debit card", "cards"),
    ("payroll_account", "Payroll account", "accounts"),
    ("pension_plan", "Pension plan", "pensions"),
]
FORMAT_VERSION = 1


def npy_bytes(array, dtype):
    """The .npy file of `array` as the server reads it: little-endian, C order, <= 2-D."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype=dtype), allow_pickle=False)
    return buffer.getvalue()


def write_synced(path, data):
    """Writes `data` to `path` and fsyncs it, so the later rename publishes complete bytes."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_directory(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def parse_version_name(name):
    """The server's rule: digits only, no leading zero, at most int64's maximum."""
    if re.fullmatch(r"[1-9][0-9]{0,18}", name) is None:
        return None
    version = int(name)
    return version if version <= 2**63 - 1 else None


def existing_versions(model_base):
    versions = []
    for name in os.listdir(model_base):
        version = parse_version_name(name)
        if version is not None and os.path.isdir(os.path.join(model_base, name)):
            versions.append(version)
    return versions


def fit_numeric_feature(name, raw, winsorise):
    """A manifest feature spec and the standardised column, as core/model/customer_features.cc does it."""
    present = raw[np.isfinite(raw)]
    # The trainer's quantiles take the lower element, without interpolation.
    impute_value = float(np.quantile(present, 0.5, method="lower"))
    value = np.where(np.isfinite(raw), raw, impute_value)
    winsor_low, winsor_high = 0.0, 0.0  # winsor_high <= winsor_low: no clipping.
    if winsorise:
        winsor_low = float(np.quantile(present, 0.01, method="lower"))
        winsor_high = float(np.quantile(present, 0.99, method="lower"))
        value = np.clip(value, winsor_low, winsor_high)
    mean = float(value.mean())
    variance = float(value.var())  # Population variance, as the trainer.
    # A constant feature gets a unit scale, so it stays at 0 instead of dividing by zero.
    stddev = float(np.sqrt(variance)) if variance > 1e-12 else 1.0
    spec = {
        "name": name,
        "kind": "numeric",
        "source": name,
        "impute_value": impute_value,
        "winsor_low": winsor_low,
        "winsor_high": winsor_high,
        "mean": mean,
        "stddev": stddev,
    }
    return spec, (value - mean) / stddev


def kmeans(points, k, rng, iterations=20):
    """Plain Lloyd's k-means; returns (centroids, labels)."""
    centroids = points[rng.choice(len(points), size=k, replace=False)].copy()
    for _ in range(iterations):
        distances = ((points[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
        labels = distances.argmin(axis=1)
        for c in range(k):
            if np.any(labels == c):
                centroids[c] = points[labels == c].mean(axis=0)
    distances = ((points[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return centroids, distances.argmin(axis=1)


def build_arrays(rng):
    """Random holdings, their truncated SVD, features and clusters: every array of a version."""
    num_products = len(PRODUCTS)
    # Customer ids (easyMoney pk_cid): positive, unique, strictly ascending.
    customer_ids = np.sort(rng.choice(np.arange(15_000, 1_600_000), size=NUM_CUSTOMERS, replace=False))

    # Holdings R (customers x products, 0/1). Some customers hold nothing:
    # their factors are all zero and the server ranks them by popularity.
    holdings = (rng.random((NUM_CUSTOMERS, num_products)) < 0.4).astype(np.float64)

    # PureSVD: R ~= U S V^T; customer_factors = U S = R V, product_factors = V.
    _, singular_values, vt = np.linalg.svd(holdings, full_matrices=False)
    product_factors = vt[:NUM_FACTORS].T            # products x factors
    customer_factors = holdings @ product_factors   # customers x factors
    singular_values = singular_values[:NUM_FACTORS]  # descending

    # Holdings in CSR form; np.nonzero walks row by row, so indices ascend within a row.
    holdings_indptr = np.concatenate([[0], np.cumsum(holdings.sum(axis=1))])
    holdings_indices = np.nonzero(holdings)[1]

    # Popularity: the whole score for customers without factors, and the prior
    # added to personalised scores. Random data has no months, so this is the
    # share of customers holding each product; the easyMoney trainer writes the
    # share who acquired each product in the training month.
    product_popularity = holdings.mean(axis=0)

    # Two numeric clustering features with a few missing values.
    age = rng.normal(40, 12, NUM_CUSTOMERS).round()
    age[rng.random(NUM_CUSTOMERS) < 0.1] = np.nan
    log_salary = np.log1p(rng.lognormal(11, 0.5, NUM_CUSTOMERS))
    log_salary[rng.random(NUM_CUSTOMERS) < 0.1] = np.nan
    age_spec, age_column = fit_numeric_feature("age", age, winsorise=True)
    salary_spec, salary_column = fit_numeric_feature("log_salary", log_salary, winsorise=True)
    features = [age_spec, salary_spec]
    standardised = np.column_stack([age_column, salary_column])
    cluster_centroids, customer_clusters = kmeans(standardised, NUM_CLUSTERS, rng)

    # File name -> (array, dtype). The dtypes are the only ones the server accepts per file.
    arrays = {
        "customer_ids.npy": (customer_ids, "<i8"),
        "customer_factors.npy": (customer_factors, "<f4"),
        "product_factors.npy": (product_factors, "<f4"),
        "singular_values.npy": (singular_values, "<f4"),
        "cluster_centroids.npy": (cluster_centroids, "<f4"),
        "customer_clusters.npy": (customer_clusters, "<i4"),
        "holdings_indptr.npy": (holdings_indptr, "<i8"),
        "holdings_indices.npy": (holdings_indices, "<i4"),
        "product_popularity.npy": (product_popularity, "<f4"),
    }
    return arrays, features


def build_manifest(features, file_hashes, seed, popularity_weight):
    return {
        "format_version": FORMAT_VERSION,
        "created_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "num_customers": NUM_CUSTOMERS,
        "num_products": len(PRODUCTS),
        "num_factors": NUM_FACTORS,
        "num_clusters": NUM_CLUSTERS,
        "num_features": len(features),
        "products": [
            {"id": pid, "name": name, "family": family, "never_recommend": False}
            for pid, name, family in PRODUCTS
        ],
        "features": features,
        "training": {
            "num_factors": NUM_FACTORS,
            "num_clusters": NUM_CLUSTERS,
            "seed": seed,
            "data_source": "tests/python/write_model_version.py (random)",
            "recency_weight": 1.0,  # Holdings are unweighted 0/1.
            "selection": "fixed",
            # Personalised score = factors . product_factors + popularity_weight * popularity.
            "popularity_weight": popularity_weight,
        },
        "files": {name: {"sha256": digest} for name, digest in sorted(file_hashes.items())},
    }


def write_model_version(model_base, seed, popularity_weight=0.0):
    """Writes a version under `model_base` and returns its directory."""
    if not (math.isfinite(popularity_weight) and popularity_weight >= 0):
        raise ValueError(f"popularity_weight {popularity_weight} must be finite and >= 0")
    rng = np.random.default_rng(seed)
    arrays, features = build_arrays(rng)

    os.makedirs(model_base, exist_ok=True)
    # A hidden directory in the same file system: the server ignores it, and rename() is atomic.
    staging = os.path.join(model_base, f".writing-{os.getpid()}-{time.monotonic_ns()}")
    os.mkdir(staging)

    file_hashes = {}
    for name, (array, dtype) in arrays.items():
        data = npy_bytes(array, dtype)
        file_hashes[name] = hashlib.sha256(data).hexdigest()
        write_synced(os.path.join(staging, name), data)
    # The manifest goes last: its presence marks the version complete.
    manifest = build_manifest(features, file_hashes, seed, popularity_weight)
    write_synced(os.path.join(staging, "manifest.json"),
                 json.dumps(manifest, indent=2, allow_nan=False).encode("utf-8"))
    fsync_directory(staging)

    # Claim the next number. rename() onto an existing non-empty directory
    # fails, so a concurrent writer that took the number makes us try the next.
    for _ in range(100):
        version = max(existing_versions(model_base), default=0) + 1
        target = os.path.join(model_base, str(version))
        try:
            os.rename(staging, target)
        except OSError as error:
            if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
                continue
            raise
        fsync_directory(model_base)
        return target
    raise RuntimeError(f"could not claim a version number under {model_base}; {staging} left behind")


def main(argv):
    if len(argv) not in (2, 3, 4):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    seed = int(argv[2]) if len(argv) >= 3 else int.from_bytes(os.urandom(4), "little")
    popularity_weight = float(argv[3]) if len(argv) == 4 else 0.0
    print(write_model_version(argv[1], seed, popularity_weight))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
