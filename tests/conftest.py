import contextlib
import importlib
import socket
import uuid

import pytest
from django.conf import settings as django_settings

from annotation import services
from tests.factories import PASSWORD, UserFactory
from tests.oidc_provider import oidc_provider, oidc_settings  # noqa: F401 (fixtures)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite, test on a database file rather than in memory.

    For an in-memory database Django's live server shares the test's one connection with every
    request thread, so an autosave and a submit arriving together interleave inside one
    transaction ("cannot start a transaction within a transaction"), which no real deployment
    does. On a file each thread has its own connection and SQLite's write lock, as under
    `make run`.
    """
    database = django_settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        path = tmp_path_factory.mktemp("database") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(path)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashers cost ~0.3 s a password by design; tests only need them to round-trip."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def snapshot_storage(settings, tmp_path):
    """Snapshots go to this test's own folder (local disk, as by default), never the repo's."""
    settings.STORAGES = {
        **settings.STORAGES,
        "snapshots": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "snapshots"), "base_url": None},
        },
    }
    settings.FLOCK_SNAPSHOT_SPOOL_DIR = tmp_path / "spool"
    return tmp_path / "snapshots"


@pytest.fixture(autouse=True)
def own_redis_keys(settings):
    """Each test writes its leaderboard keys under its own prefix and removes them afterwards,
    so that tests never see each other's boards in the shared Redis (CI sets REDIS_URL)."""
    settings.FLOCK_REDIS_PREFIX = f"flock-test-{uuid.uuid4().hex[:12]}:"
    yield
    from redis.exceptions import RedisError

    from leaderboard.boards import redis_client

    client = redis_client()
    if client is not None:
        with contextlib.suppress(RedisError):  # a test may point REDIS_URL at nothing
            keys = list(client.scan_iter(f"{settings.FLOCK_REDIS_PREFIX}*"))
            if keys:
                client.delete(*keys)


@pytest.fixture(autouse=True)
def cache_not_skipped():
    """A test that made the cache fail (Redis pointed at nothing) leaves this process reading
    around it for a few seconds (config/caching.py): no other test inherits that."""
    from config import caching

    caching._skip_until[0] = 0.0
    yield
    caching._skip_until[0] = 0.0


@pytest.fixture
def cache_unreachable(settings):
    """Django's cache on Redis at a port nothing listens on (the probe's, once it is closed):
    every cache operation fails, as with Redis down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/14",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    return settings


@pytest.fixture(autouse=True)
def fresh_drive_figures():
    """The drive dashboard caches its figures for a minute (in Redis when REDIS_URL is set):
    each test computes its own, never another test's."""
    from drive.figures import figures_forget

    figures_forget()
    yield
    figures_forget()


@pytest.fixture(autouse=True)
def fresh_counts():
    """The category pages' counts are cached for FLOCK_CATEGORY_COUNTS_SECONDS (in Redis when
    REDIS_URL is set): each test counts its own entries, never another test's."""
    from annotation.selectors import category_counts_forget

    category_counts_forget()
    yield
    category_counts_forget()


@pytest.fixture(autouse=True)
def fresh_reference_flag():
    """The writing page's check caches whether any reference corpus exists (in Redis when
    REDIS_URL is set): each test starts from its own database's answer."""
    from config.caching import forget
    from quality.selectors import REFERENCES_EXIST_KEY

    forget(REFERENCES_EXIST_KEY)
    yield
    forget(REFERENCES_EXIST_KEY)


@pytest.fixture
def postgresql():
    """Skip the test unless it runs on PostgreSQL: for row locks and races that SQLite, one writer
    at a time, cannot show (CI runs with DATABASE_URL pointing at PostgreSQL)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks: run with DATABASE_URL=postgres://… (CI does)")


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def alice(db):
    """Alice writes entries."""
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    """Bob is another contributor; he must never see or touch Alice's drafts."""
    return UserFactory(username="bob")


@pytest.fixture
def carol(db):
    """Carol is staff (a moderator)."""
    return UserFactory(username="carol", is_staff=True)


@pytest.fixture
def dana(db):
    """A data scientist: builds and downloads snapshots."""
    from django.contrib.auth.models import Group

    user = UserFactory(username="dana")
    user.groups.add(
        Group.objects.get_or_create(name=django_settings.FLOCK_DATA_SCIENTISTS_GROUP)[0]
    )
    return user


@pytest.fixture
def dave(db):
    """Dave is another reviewer."""
    return UserFactory(username="dave")


@pytest.fixture
def alice_client(client, alice):
    """The test client, signed in as Alice."""
    client.force_login(alice)
    return client


@pytest.fixture
def carol_client(client, carol):
    """The test client, signed in as Carol (staff: a moderator and contest admin)."""
    client.force_login(carol)
    return client


@pytest.fixture
def agreed(alice):
    """Alice, having accepted the contributor agreement in force."""
    services.agreement_accept(user=alice)
    return alice


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def alice_api(api_client, alice):
    api_client.force_authenticate(alice)
    return api_client


@pytest.fixture
def seeded(transactional_db):
    """Put back what the data migration seeded, for tests that run outside a transaction.

    Transactional tests empty every table when they finish. serialized_rollback cannot restore
    the rows for the browser tests: Playwright's event loop gives the test its own connection
    object, which lacks the serialized copy Django keeps on the original one.
    """
    from django.apps import apps

    seed_migration = importlib.import_module(
        "annotation.migrations.0002_seed_categories_and_agreement"
    )
    seed_migration.seed(apps, schema_editor=None)


@pytest.fixture
def worker(seeded):
    """A real worker thread consuming from Redis when there is a broker; tasks run in-process
    (CELERY_TASK_ALWAYS_EAGER) when there is none."""
    if django_settings.CELERY_TASK_ALWAYS_EAGER:
        yield contextlib.nullcontext()
        return
    with celery_worker():
        yield


@contextlib.contextmanager
def celery_worker(*, purge: bool = True):
    """A real Celery worker thread on the Redis broker, for tests that need one (CI)."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    if purge:
        app.control.purge()  # tasks other tests queued with no worker to run them
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


@pytest.fixture
def eager_celery():
    """Run tasks in-process even where REDIS_URL points at a real broker (as in CI): for tests
    about when a task is started, not about the broker (the worker fixture covers that)."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before
