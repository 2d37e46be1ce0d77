"""``python -m apps.mnist``: see :mod:`apps.mnist.cli`."""

import sys

from apps.mnist.cli import main

sys.exit(main())
