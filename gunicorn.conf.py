"""gunicorn in production: `gunicorn -c gunicorn.conf.py flownally_admin.wsgi`.

Sync workers (gunicorn's default), which expect a reverse proxy in front that buffers
request bodies (nginx does by default): a slow client then never holds a worker. The
command line overrides any of these (`--workers 8`).
"""

import os

# Where to listen; FLOWNALLY_BIND is also where `make run` serves.
bind = os.environ.get("FLOWNALLY_BIND", "127.0.0.1:8000")
# gunicorn's own variable; its usual advice of 2 per core plus one fits a service whose
# requests mostly wait on PostgreSQL.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))

# Requests that break these limits are answered by gunicorn itself (414, 431), before
# Django runs: see docs/operations.md. The request line has room for long filter lists
# (`tagIds` repeated, `customFields[…]`, a page token); 8190 is gunicorn's maximum.
limit_request_line = 8190
limit_request_fields = 50
limit_request_field_size = 8190

# A worker silent for this long is killed and replaced. An import upload (up to
# IMPORT_MAX_BYTES) is stored during its request; behind a buffering proxy that is
# seconds of disk work, never a client's upload time.
timeout = 60
# On SIGTERM (a deploy, a scale-down), requests in flight get this long to finish.
graceful_timeout = 30
# Seconds an idle keep-alive connection is kept; the sync worker closes each connection
# after its response, so this counts only with another worker class (gthread).
keepalive = 5

# Access log on stdout, errors on stderr: the process manager collects both.
accesslog = "-"
errorlog = "-"

# No runtime control socket (gunicorn ≥ 25, for `gunicornc`): nothing here uses it, and
# every instance of a user would share its default path.
control_socket_disable = True
