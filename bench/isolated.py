"""A benchmark's own files and Redis database, set before Django reads its settings: call
`isolate` before importing bench.common. The run's media (snapshots, spool) go to a temporary
folder, and REDIS_URL is pointed at another database number on the same server, which the run
empties before it starts, so that the queued jobs and boards of a benchmark never mix with a
site's or a test run's."""

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit


def isolate(*, name: str, redis_db: int) -> str:
    """Point MEDIA_ROOT at a new temporary folder (returned) and REDIS_URL, when set, at
    database `redis_db` of its server."""
    media = tempfile.mkdtemp(prefix=f"flock-{name}-media-")
    os.environ["MEDIA_ROOT"] = media
    os.environ["FLOCK_SNAPSHOT_SPOOL_DIR"] = str(Path(media) / ".spool")
    os.environ.pop("FLOCK_SNAPSHOT_STORAGE_BACKEND", None)
    os.environ.pop("FLOCK_SNAPSHOT_STORAGE_OPTIONS", None)
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = (
            urlsplit(os.environ["REDIS_URL"])._replace(path=f"/{redis_db}").geturl()
        )
    return media
