"""Where the reader keeps its files between start-ups (nlp/cache_files.py writes them).

Apart from those files' module, which needs numpy: the settings name the directory, and
loading them should not load numpy with every start of the bot.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_DIR_NAME = "postal-inspection-bot"


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/postal-inspection-bot (~/.cache/… without it): it survives
    restarts, unlike a temp dir that a host with PrivateTmp empties at every start."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP_DIR_NAME
