"""The Inception family: GoogLeNet and BN-Inception, Inception-v3, Inception-v4 and the Inception-ResNets.

- ``blocks``: the shared parts: layer records (``Conv``, ``Pool``, ``Branch``, ``Module``), the
  convolution unit of each network (``ConvStyle``), Inception-v3's stem (``V3_STEM``, shared by the
  Inception-ResNets), the auxiliary classifiers (``AuxHead``) and the family's one builder
  (``build``, which also holds the one auxiliary-head argument check).
- ``googlenet``, ``inception_v3``, ``inception_v4``: each network's tables and its public builders.

The three network modules are also importable at their old paths ``kerasnets.models.googlenet``,
``kerasnets.models.inception_v3`` and ``kerasnets.models.inception_v4`` (the same module objects).
"""

from kerasnets.models.inception import blocks
from kerasnets.models.inception import googlenet
from kerasnets.models.inception import inception_v3
from kerasnets.models.inception import inception_v4

__all__ = ["blocks", "googlenet", "inception_v3", "inception_v4"]
