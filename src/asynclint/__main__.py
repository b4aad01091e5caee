"""``python -m asynclint``: the same as the ``asynclint`` command."""
from __future__ import annotations

import sys

from asynclint.cli import main

if __name__ == "__main__":
    sys.exit(main())
