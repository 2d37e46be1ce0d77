"""The model families. Importing this package registers every builder.

Each family is a module (``kerasnets.models.vgg``, ``kerasnets.models.googlenet``, ...),
imported here one by one; importing a family module registers its variants with
``kerasnets._registry``. The registry lookups are exported from here (and, lazily, from
``kerasnets``), so whoever reaches them has every family registered. Add one import per
new family module.
"""

from kerasnets._registry import FeatureInfo, ModelSpec, get_model, get_spec, list_families, list_models
from kerasnets.models import lenet
from kerasnets.models import alexnet
from kerasnets.models import vgg
from kerasnets.models import nin
from kerasnets.models import resnet
from kerasnets.models import densenet
from kerasnets.models import googlenet
from kerasnets.models import inception_v3
from kerasnets.models import inception_v4

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
    "googlenet",
    "inception_v3",
    "inception_v4",
]
