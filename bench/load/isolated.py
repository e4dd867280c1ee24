"""Imported before Django reads its settings: the run's files (the seeded snapshot, the servers'
media) in a folder of its own, and Redis on REDIS_URL's server in a database of the run's own
(FLOCK_LOAD_REDIS_DB, default 13), which bench.load empties before the run; the orchestrator
(the seed's queued jobs, the boards' check) and the servers all use it."""

import os

from bench.isolated import isolate

MEDIA = isolate(name="load", redis_db=int(os.environ.get("FLOCK_LOAD_REDIS_DB", "13")))
