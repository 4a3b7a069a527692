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
    Two streamed passes. Pass 1 accumulates the Gram matrix ``A^T A`` in float64 (a float32 input is
    converted chunk by chunk, so every product is exact; ``block.T @ block`` is a BLAS syrk) and takes
    ``sqrt(eigvalsh)``. Squaring gives those values an absolute error of about ``sqrt(eps) * sigma_1``
    (~1e-8 sigma_1), which is small for the large values but wrong in relative terms for the small ones and,
    over thousands of near-zero values, visible in SVE / RankMe. So, when some Gram eigenvalues lie below
    ``(1e-5 sigma_1)^2``, pass 2 projects the data onto their eigenvectors V (k x m) and recomputes those m
    values as the singular values of ``A V``, formed from the data (absolute error about ``eps * sigma_1``).
    Accuracy against ``numpy.linalg.svd``, as tested (``tests/spectrum/test_fast_gram.py``: random, low-rank,
    ill-conditioned, N < D, centred, normalised, memmap, float32/64 inputs): every value within
    ``1e-9 * sigma_1``, SVE / LSVR / RankMe within ``1e-7`` relative (absolute below 1); the target is 1e-6 for
    both. Measured errors are usually ~1e-12 sigma_1 or below. The values kept from the Gram that lie just above
    the threshold have the largest relative error (up to ~1e-6 near ``1e-5 sigma_1``, i.e. ~1e-11 sigma_1).
    Use ``"tsqr"`` or ``"svd"`` when the small values themselves must have full relative accuracy.
    Cost: ``N k^2`` float64 flops (k = min(N, D)), plus ``2 N k m + N m^2`` for the m refined values (none for
    a full-rank X whose spectrum stays above 1e-5 sigma_1). Timings: ``docs/performance.md``.
``"auto"`` (default)
    ``"gram"``, for every size (it used to be ``"svd"`` up to ``max_memory`` and ``"tsqr"`` above).

When N < D the roles of rows and columns swap (``X^T`` is processed by column chunks), so the factor is
N x N.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["singular_values"]

_METHODS = ("auto", "svd", "tsqr", "gram")
# Gram eigenvalues below (_REFINE_BELOW * sigma_1)^2 are recomputed by a second, projected pass (see module doc)
_REFINE_BELOW = 1e-5


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


def _one_blas_thread():
    """Context running the k x k eigen-solves on one BLAS thread.

    Their tridiagonal reduction is memory-bound BLAS-2 with a thread barrier per column. On the busy 2-core
    machine of ``docs/performance.md``, ``eigvalsh`` of a 2048 x 2048 Gram took 3-25 s on two OpenBLAS
    threads and 1.8 s on one; the level-3 Gram accumulation keeps all threads.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def _syrk_into(g, block):
    """``g += block.T @ block`` on the upper triangle of the Fortran-ordered ``g``, in place (BLAS dsyrk)."""
    from scipy.linalg.blas import dsyrk

    if block.flags.f_contiguous:  # (c, k) in Fortran order: a^T a
        out = dsyrk(1.0, block, beta=1.0, c=g, trans=1, lower=0, overwrite_c=1)
    else:  # block.T is (k, c) in Fortran order: a a^T
        out = dsyrk(1.0, np.ascontiguousarray(block).T, beta=1.0, c=g, trans=0, lower=0, overwrite_c=1)
    if out is not g:  # f2py copies only when the layout is not what BLAS takes; keep the result either way
        g[...] = out


def _gram(blocks, k, center_rows, n_blocks, progress):
    """Centred Gram matrix (k x k) and column mean (k,), streamed over row blocks of A.

    Every block is float64 (a float32 input is converted chunk by chunk, so the products are exact and only the
    float64 sums round), added with an in-place BLAS syrk. Centring merges per-block means and scatters
    (Chan et al.), so a large mean never cancels against ``N mu mu^T``.
    """
    g = np.zeros((k, k), order="F")
    count, mean = 0, np.zeros(k)
    for block in _progress(blocks, n_blocks, progress, "spectrum (gram)"):
        if center_rows:
            c = block.shape[0]
            m_b = block.mean(axis=0)
            _syrk_into(g, block - m_b)
            if count:
                delta = m_b - mean
                g += (count * c / (count + c)) * np.outer(delta, delta)
            mean = mean + (m_b - mean) * (c / (count + c))
            count += c
        else:
            _syrk_into(g, block)
    upper = np.triu(g)
    return upper + np.triu(upper, 1).T, mean


def _small_by_projection(blocks, v, mean, n_blocks, progress):
    """Singular values of ``B = A_c V`` (ascending), streamed again over the row blocks of A.

    ``V`` (k x m) spans the computed small eigenvectors of the Gram. ``B`` is formed from the data, not from
    the rounded Gram, so its singular values (the Ritz values of A on span(V)) carry an absolute error of about
    ``eps * sigma_1`` instead of the Gram's ``sqrt(eps) * sigma_1``; leakage of the large directions into
    span(V) enters only to second order.
    """
    m = v.shape[1]
    gb = np.zeros((m, m))
    for block in _progress(blocks, n_blocks, progress, "spectrum (refine)"):
        b = (block - mean if mean is not None else block) @ v  # (c, m)
        gb += b.T @ b
    with _one_blas_thread():
        lam = np.linalg.eigvalsh(gb)
    return np.sqrt(np.clip(lam, 0.0, None))


def _gram_spectrum(make_blocks, k, center_rows, n_blocks, progress):
    """Ascending singular values from the float64 Gram, the ones below ``_REFINE_BELOW * sigma_1`` refined."""
    g, mean = _gram(make_blocks(), k, center_rows, n_blocks, progress)
    with _one_blas_thread():
        lam = np.linalg.eigvalsh(g)  # ascending
    top = lam[-1]
    if not top > 0:
        return np.zeros(k)
    s = np.sqrt(np.clip(lam, 0.0, None))
    m = int(np.count_nonzero(lam <= _REFINE_BELOW**2 * top))
    if m:
        from scipy.linalg import eigh

        with _one_blas_thread():
            _, v = eigh(g, subset_by_index=[0, m - 1])
        s[:m] = _small_by_projection(make_blocks(), v, mean if center_rows else None, n_blocks, progress)
    return s


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
        No longer used (``"auto"`` used to pick ``"svd"`` below this size); accepted so existing calls work.
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
        method = "gram"
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
        n_blocks = -(-long_side // chunk)
        center_rows = center and not transpose  # transposed blocks are already centred

        def make_blocks():
            return _blocks(X, chunk, transpose, center, normalize_rows)

        if method == "tsqr":
            r = _tsqr(make_blocks(), k, center_rows, n_blocks, progress)
            s = np.linalg.svd(r, compute_uv=False)
        else:
            s = _gram_spectrum(make_blocks, k, center_rows, n_blocks, progress)
    s = np.sort(np.clip(s, 0.0, None))[::-1][:k]
    if s.size < k:  # qr of a short stack can give fewer rows; the missing values are zeros
        s = np.concatenate([s, np.zeros(k - s.size)])
    return np.ascontiguousarray(s)
