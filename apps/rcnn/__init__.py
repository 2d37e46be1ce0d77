"""R-CNN (Girshick, Donahue, Darrell & Malik 2014, "Rich feature hierarchies for accurate object
detection and semantic segmentation") built from kerasnets parts.

``python -m apps.rcnn propose|train|detect|evaluate`` (see ``--help`` and docs/apps/rcnn.md).

Modules: :mod:`~apps.rcnn.proposals` (selective search / sliding windows, parallel, cached),
:mod:`~apps.rcnn.regions` (warping with context padding), :mod:`~apps.rcnn.network`
(backbone + fc6/fc7 + (N+1)-way classifier, fine-tuning, features), :mod:`~apps.rcnn.svm`
(per-class linear SVMs, hard negative mining), :mod:`~apps.rcnn.bbox_regression`,
:mod:`~apps.rcnn.nms` (TensorFlow NMS), :mod:`~apps.rcnn.evaluation` (VOC AP, PR curves,
pictures), :mod:`~apps.rcnn.pipeline` (train / Detector / evaluate).

Submodules are imported on use, so proposal worker processes do not load Keras.
"""
