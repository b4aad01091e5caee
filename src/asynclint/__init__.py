"""asynclint: finds and fixes async/sync misuse in Python code."""
from __future__ import annotations

__version__ = "0.1.0"
