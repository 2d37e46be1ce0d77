"""R-CNN (Girshick, Donahue, Darrell & Malik 2014, "Rich feature hierarchies for accurate object
detection and semantic segmentation") built from kerasnets parts.

``python -m apps.rcnn propose|train|detect|evaluate`` (see ``--help`` and docs/apps/rcnn.md).

Modules: `proposals` (selective search / sliding windows, parallel, cached),
`regions` (image loading and warping with context padding), `backbone_weights`
(published ImageNet names or files, and the preprocessing they imply), `network`
(backbone + fc6/fc7 + (N+1)-way classifier, fine-tuning, features), `svm`
(per-class linear SVMs, hard negative mining), `bbox_regression`,
`nms` (TensorFlow NMS), `evaluation` (VOC AP, PR curves,
pictures), `pipeline` (train / Detector / evaluate).

Submodules are imported on use, so proposal worker processes do not load Keras.
"""
