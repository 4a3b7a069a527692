"""Private helpers that several packages need, each written once.

Validation, files, statistics, processes, devices, registries. Nothing here imports from the rest of
:mod:`nmtune`; everything else may import from here.
"""
