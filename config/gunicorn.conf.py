"""gunicorn settings for `make serve`: threaded workers (gthread) for a synchronous Django app whose requests
spend their time waiting on PostgreSQL and the payment gateway. Every value can be set from the environment."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# One control socket per server (gunicorn's default is one per user), so several servers can share a host.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", f"/tmp/gunicorn-{bind.replace(':', '-')}.ctl")

if os.environ.get("LOG_FORMAT") == "json":
    from config.gunicorn_logging import JSON_LOGCONFIG

    logconfig_dict = JSON_LOGCONFIG
    logger_class = "config.gunicorn_logging.RequestIdLogger"
