"""``python -m apps.captioning``: see `apps.captioning.cli`."""

import sys

from apps.captioning.cli import main

sys.exit(main())
