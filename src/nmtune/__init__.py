"""nmtune: Noisy Model Learning on frozen features."""

__version__ = "0.1.0"
