"""``python -m clients.cli``: the same as the ``liaison`` console script."""

import sys

from clients.cli import main

sys.exit(main())
