"""The state folder of `videorecs up` (`.data/`) is private to the user who runs it.

It holds secrets.env, the SQLite databases (admin sessions, every resource), the logs
(request details), the model artifacts and the training CSV: nothing another local
user should read. New files get that from the umask, which `videorecs up` sets for
itself and every child it starts (the services, the engine's training workers) inherit;
files and folders from older runs, made under a looser umask, are tightened at each start.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private(state: Path) -> None:
    """Create `state` if needed; make it and everything under it owner-only."""
    state.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    # os.walk does not descend into symlinked folders, and symlinks are skipped: a
    # chmod through one would change a file outside the state folder.
    for folder, _, files in os.walk(state):
        os.chmod(folder, DIR_MODE)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, FILE_MODE)
