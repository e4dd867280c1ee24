"""Imported before Django reads its settings: the run's files (the seeded snapshot, the servers'
media) in a folder of its own, and Redis on REDIS_URL's server in a database of the run's own
(FLOCK_LOAD_REDIS_DB, default 13), which bench.load empties before the run; the orchestrator
(the seed's queued jobs, the boards' check) and the servers all use it."""

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

MEDIA = tempfile.mkdtemp(prefix="flock-load-media-")
os.environ["MEDIA_ROOT"] = MEDIA
os.environ["FLOCK_SNAPSHOT_SPOOL_DIR"] = str(Path(MEDIA) / ".spool")
os.environ.pop("FLOCK_SNAPSHOT_STORAGE_BACKEND", None)
os.environ.pop("FLOCK_SNAPSHOT_STORAGE_OPTIONS", None)
if os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = (
        urlsplit(os.environ["REDIS_URL"])
        ._replace(path=f"/{int(os.environ.get('FLOCK_LOAD_REDIS_DB', '13'))}")
        .geturl()
    )
