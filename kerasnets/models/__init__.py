"""The model families. Importing this package registers every builder.

Each family module defines ``__all__``; its public builders are re-exported by
``kerasnets``. Add one import line per family module.
"""

from kerasnets.models.lenet import *  # noqa: F401,F403
from kerasnets.models.alexnet import *  # noqa: F401,F403
from kerasnets.models.vgg import *  # noqa: F401,F403
from kerasnets.models.nin import *  # noqa: F401,F403
from kerasnets.models.resnet import *  # noqa: F401,F403
from kerasnets.models.densenet import *  # noqa: F401,F403
from kerasnets.models.googlenet import *  # noqa: F401,F403
from kerasnets.models.inception_v3 import *  # noqa: F401,F403
from kerasnets.models.inception_v4 import *  # noqa: F401,F403
