"""The model families. Importing this package registers every builder.

Each family is a module (``kerasnets.models.vgg``, ``kerasnets.models.googlenet``, ...),
imported here one by one; importing a family module registers its variants with
``kerasnets._registry``. The registry lookups are exported from here (and, lazily, from
``kerasnets``), so whoever reaches them has every family registered. Add one import per
new family module.
"""

import sys

from kerasnets._registry import FeatureInfo, ModelSpec, get_model, get_spec, list_families, list_models
from kerasnets.models import lenet
from kerasnets.models import alexnet
from kerasnets.models import vgg
from kerasnets.models import nin
from kerasnets.models import resnet
from kerasnets.models import densenet
from kerasnets.models import inception
from kerasnets.models.inception import googlenet
from kerasnets.models.inception import inception_v3
from kerasnets.models.inception import inception_v4

# The Inception networks' modules live in the inception package; their old paths
# (``import kerasnets.models.googlenet``) name the same module objects.
for _module in (googlenet, inception_v3, inception_v4):
    sys.modules.setdefault(f"{__name__}.{_module.__name__.rsplit('.', 1)[1]}", _module)
del _module

FAMILY_MODULES = (lenet, alexnet, vgg, nin, resnet, densenet, googlenet, inception_v3, inception_v4)

__all__ = [
    "FAMILY_MODULES",
    "FeatureInfo",
    "ModelSpec",
    "get_model",
    "get_spec",
    "list_families",
    "list_models",
    "lenet",
    "alexnet",
    "vgg",
    "nin",
    "resnet",
    "densenet",
    "inception",
    "googlenet",
    "inception_v3",
    "inception_v4",
]
