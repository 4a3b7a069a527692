"""The float64 reference every spectrum fast path is checked against."""

import numpy as np


def svd_reference(X, center=False, normalize_rows=False):
    """``numpy.linalg.svd`` singular values of X (N, D) after the same pre-processing, in float64."""
    A = np.asarray(X, dtype=np.float64)
    if normalize_rows:
        nrm = np.linalg.norm(A, axis=1, keepdims=True)
        A = A / np.where(nrm > 0, nrm, 1.0)
    if center:
        A = A - A.mean(axis=0)
    return np.linalg.svd(A, compute_uv=False)
