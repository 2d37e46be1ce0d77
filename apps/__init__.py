"""Applications built on kerasnets: ``python -m apps.mnist``, ``apps.rcnn``, ``apps.captioning``."""
