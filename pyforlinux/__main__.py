"""``python -m pyforlinux``: the same as the ``pyforlinux`` command."""

import sys

from pyforlinux.cli import main

sys.exit(main())
