"""How many torch and BLAS threads the heads compute with: the public face of :mod:`nmtune._internal.threads`.

A head's ``n_threads`` is used as given; inside :func:`thread_limit` nested heads reuse the block's count; then
the environment variable ``NMTUNE_NUM_THREADS``; otherwise the cores free now (:func:`available_cores` minus
:func:`busy_cores`, at least 1, at most torch's current count), which :func:`pick_threads` returns.

>>> from nmtune.heads.threads import pick_threads, thread_limit
>>> with thread_limit(1):  # every head fitted in the block uses one thread
...     pass
"""

from nmtune._internal.threads import ENV_VAR, available_cores, busy_cores, pick_threads, thread_limit

__all__ = ["ENV_VAR", "available_cores", "busy_cores", "pick_threads", "thread_limit"]
