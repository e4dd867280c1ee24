"""The drive-day load run: thousands of employees writing, reviewing and watching the board at
once, against Flock served production style (gunicorn, a Celery worker, PostgreSQL, Redis).

    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python -m bench.load
        [--steps 100,250,500,1000,1500] [--step-seconds 60] [--workers 4] [--smoke]

__main__.py seeds a throwaway database, starts the servers and locust (locustfile.py, headless,
in a process of its own), prints each step's figures per endpoint and the knee, then checks that
nothing was lost (checks.py). See "Load" in docs/benchmarks.md.
"""
