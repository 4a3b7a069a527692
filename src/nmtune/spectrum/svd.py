"""Singular values of a whole feature matrix, streamed in chunks so a memmap never loads whole.

Shapes: X is (N, D); the result has length ``min(N, D)``, descending, non-negative, computed in float64.

Methods
-------
``"svd"``
    ``numpy.linalg.svd`` of the (pre-processed) matrix held in memory in float64.
``"tsqr"``
    Streaming tall-skinny QR: the triangular factor R of the row chunks is updated chunk by chunk
    (``R <- qr([R; chunk]).R``), then the SVD of R (D x D) gives the singular values. Householder QR is
    backward stable, so the accuracy equals that of ``numpy.linalg.svd`` on X (absolute error about
    ``eps * sigma_1``), the small singular values included. Centring merges per-chunk means exactly like a
    streaming (Chan et al.) mean/scatter update, without forming ``X^T X - N mu mu^T``.
``"gram"``
    Accumulates the Gram matrix ``X^T X`` chunk by chunk and takes the square roots of its eigenvalues
    (negatives clipped to 0). Fastest, but squaring doubles the condition number: the absolute error of
    ``sigma_i`` is about ``sqrt(eps * D) * sigma_1`` (~1e-7 sigma_1), so singular values below ~1e-4 sigma_1
    lose relative accuracy. The spectrum metrics (sums of sigma) are unaffected at that level.
``"auto"``
    ``"svd"`` when a float64 copy of X takes at most ``max_memory`` bytes (memmaps included), else
    ``"tsqr"``.

When N < D the roles of rows and columns swap (``X^T`` is processed by column chunks), so the factor is
N x N.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["singular_values"]

_METHODS = ("auto", "svd", "tsqr", "gram")


def _as_2d(X):
    if not isinstance(X, np.ndarray):
        if hasattr(X, "detach"):  # torch tensor
            X = X.detach().cpu().numpy()
        X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (N, D); received shape {X.shape}.")
    if X.dtype.kind not in "iuf":
        raise TypeError(f"X must be numeric (float or int); received dtype {X.dtype}.")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column; received shape {X.shape}.")
    return X


def _finite(block, start, axis_name):
    if not np.all(np.isfinite(block)):
        bad = np.argwhere(~np.isfinite(block))[0]
        where = start + int(bad[0] if axis_name == "row" else bad[1])
        raise ValueError(
            f"X holds NaN or inf (first at {axis_name} {where}); clean or drop those samples first."
        )


def _chunks(n, size):
    for start in range(0, n, size):
        yield start, min(n, start + size)


def _progress(iterable, total, enabled, desc):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="chunk")


def _row_norms(X, chunk, transpose):
    """Row L2 norms of X (N,) in float64, reading column chunks when ``transpose``."""
    n, d = X.shape
    if not transpose:
        return None  # computed per row chunk on the fly
    sq = np.zeros(n)
    for a, b in _chunks(d, chunk):
        block = np.asarray(X[:, a:b], dtype=np.float64)
        _finite(block, a, "column")
        sq += np.einsum("ij,ij->i", block, block)
    return np.sqrt(sq)


def _blocks(X, chunk, transpose, center, normalize_rows):
    """Yield pre-processed float64 row blocks of the tall matrix A (X, or X^T when ``transpose``).

    For ``transpose`` (N < D) the blocks are column chunks of X, transposed; the column centring of X is
    then local to each block and already applied here.
    """
    n, d = X.shape
    norms = _row_norms(X, chunk, transpose) if (transpose and normalize_rows) else None
    if norms is not None:
        norms = np.where(norms > 0, norms, 1.0)
    total = d if transpose else n
    for a, b in _chunks(total, chunk):
        if transpose:
            block = np.asarray(X[:, a:b], dtype=np.float64)  # (N, c)
            _finite(block, a, "column")
            if norms is not None:
                block = block / norms[:, None]
            if center:
                block = block - block.mean(axis=0, keepdims=True)
            yield block.T  # (c, N); centring already done
        else:
            block = np.array(X[a:b], dtype=np.float64)  # (c, D)
            _finite(block, a, "row")
            if normalize_rows:
                nrm = np.linalg.norm(block, axis=1, keepdims=True)
                block /= np.where(nrm > 0, nrm, 1.0)
            yield block


def _tsqr(blocks, k, center_rows, n_blocks, progress):
    """Triangular factor R (k x k) with R^T R = A_c^T A_c, streamed over row blocks of A."""
    r = np.zeros((0, k))
    count, mean = 0, np.zeros(k)
    for block in _progress(blocks, n_blocks, progress, "spectrum (tsqr)"):
        if center_rows:
            c = block.shape[0]
            m_b = block.mean(axis=0)
            parts = [r, block - m_b]
            if count:  # Chan et al. merge: S = S_a + S_b + n_a n_b / n (m_b - m_a)(m_b - m_a)^T
                parts.append(np.sqrt(count * c / (count + c)) * (m_b - mean)[None, :])
            mean = mean + (m_b - mean) * (c / (count + c))
            count += c
            stacked = np.vstack(parts)
        else:
            stacked = np.vstack([r, block])
        r = np.linalg.qr(stacked, mode="r")
        if r.shape[0] > k:
            r = r[:k]
    return r


def _gram(blocks, k, center_rows, n_blocks, progress):
    """Centred Gram matrix (k x k) streamed over row blocks of A, with a Chan et al. mean merge."""
    g = np.zeros((k, k))
    count, mean = 0, np.zeros(k)
    for block in _progress(blocks, n_blocks, progress, "spectrum (gram)"):
        if center_rows:
            c = block.shape[0]
            m_b = block.mean(axis=0)
            cb = block - m_b
            g += cb.T @ cb
            if count:
                delta = m_b - mean
                g += (count * c / (count + c)) * np.outer(delta, delta)
            mean = mean + (m_b - mean) * (c / (count + c))
            count += c
        else:
            g += block.T @ block
    return g


def singular_values(
    X,
    *,
    center: bool = False,
    normalize_rows: bool = False,
    chunk_size: int | None = None,
    method: str = "auto",
    max_memory: int = 256 * 2**20,
    progress: bool = False,
) -> np.ndarray:
    """Singular values of a feature matrix, descending, in float64.

    Pre-processing, in this order: ``normalize_rows`` divides every row by its L2 norm (all-zero rows stay
    zero), then ``center`` subtracts the column mean.

    Parameters
    ----------
    X : array-like of shape (N, D)
        Features, any float or int dtype, a ``numpy.memmap`` (read in chunks) or a CPU torch tensor.
    center : bool, default False
        Subtract the mean of each feature (column) first.
    normalize_rows : bool, default False
        L2-normalise each sample (row) first, as the NMTune authors' analysis code does.
    chunk_size : int, optional
        Rows (or, when N < D, columns) per chunk for the streaming methods. Default: about 32 MiB of float64.
    method : {"auto", "svd", "tsqr", "gram"}, default "auto"
        See the module docstring for the accuracy of each.
    max_memory : int, default 256 MiB
        For ``"auto"``: largest float64 copy of X held in memory for an exact in-memory SVD.
    progress : bool, default False
        Show a progress bar over chunks.

    Returns
    -------
    s : ndarray of float64, shape (min(N, D),)
        Singular values, sorted descending, non-negative.
    """
    X = _as_2d(X)
    if method not in _METHODS:
        from nmtune.exceptions import unknown_name_error

        raise unknown_name_error("singular-value method", method, _METHODS)
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1
    ):
        raise ValueError(f"chunk_size must be a positive int or None; received {chunk_size!r}.")
    n, d = X.shape
    if method == "auto":
        method = "svd" if n * d * 8 <= max_memory else "tsqr"
    transpose = n < d
    k = min(n, d)
    if method == "svd":
        # one block holding everything: same pre-processing code path as the streaming methods
        a = next(_blocks(X, max(n, d), transpose, center, normalize_rows))
        if center and not transpose:
            a = a - a.mean(axis=0)
        s = np.linalg.svd(a, compute_uv=False)
    else:
        long_side = d if transpose else n
        chunk = chunk_size or max(k, (4 * 2**20) // max(k, 1))
        chunk = max(chunk, 1)
        n_blocks = -(-long_side // chunk)
        blocks = _blocks(X, chunk, transpose, center, normalize_rows)
        center_rows = center and not transpose  # transposed blocks are already centred
        if method == "tsqr":
            s = np.linalg.svd(_tsqr(blocks, k, center_rows, n_blocks, progress), compute_uv=False)
        else:
            ev = np.linalg.eigvalsh(_gram(blocks, k, center_rows, n_blocks, progress))
            s = np.sqrt(np.clip(ev, 0.0, None))
    s = np.sort(np.clip(s, 0.0, None))[::-1][:k]
    if s.size < k:  # qr of a short stack can give fewer rows; the missing values are zeros
        s = np.concatenate([s, np.zeros(k - s.size)])
    return np.ascontiguousarray(s)
