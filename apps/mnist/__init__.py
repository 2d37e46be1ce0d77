"""MNIST / Fashion-MNIST classifier application: ``python -m apps.mnist train|evaluate|predict|export``.

See docs/apps/mnist.md.
"""
