"""``python -m apps.mnist``: see `apps.mnist.cli`."""

import sys

from apps.mnist.cli import main

sys.exit(main())
