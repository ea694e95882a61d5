"""Celery: the broker, task behaviour, and the beat schedule."""

from datetime import timedelta

from celery.schedules import crontab

from .base import TIME_ZONE, VAR_DIR, env

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "store_processed": False,
        # Broadcast (worker control) messages live under var/ too, not in the working dir.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        # The worker looks for new files this often (kombu's default is 1 s); its loop sees a
        # shutdown request only between looks, so Ctrl-C stops it this much sooner too.
        "polling_interval": 0.1,
    }
else:
    if CELERY_BROKER_URL.startswith("redis://"):
        # kombu's Redis transport with the fix that keeps a worker alive when Redis restarts.
        CELERY_BROKER_TRANSPORT = "orders_portal.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Long retry delays are scheduled from the database by the sweeper, never as a
        # countdown that could outlive this timeout.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must not hang a web request when the broker is down: the outbox and the
# sweeper make sure nothing is lost.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# Celery's Django fixup closes the database connection around every task unless this is set
# (a new PostgreSQL connection per task costs more than most tasks). Connections are reused;
# orders_portal.celery checks them before each task (CONN_MAX_AGE, CONN_HEALTH_CHECKS).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# A cold shutdown (SIGQUIT; what `make run`'s Ctrl-C asks) lets running tasks finish for this
# long, then cancels them (the sweeper sends their deliveries again). SIGTERM stays a warm
# shutdown that waits for every running task.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=3.0)
CELERY_BEAT_SCHEDULE = {
    "delivery-sweep": {
        "task": "delivery.sweep",
        "schedule": timedelta(seconds=env.int("SWEEP_INTERVAL_SECONDS", default=30)),
    },
    "delivery-sftp-due": {
        "task": "delivery.sftp_run_due",
        "schedule": timedelta(seconds=env.int("SFTP_RUN_CHECK_SECONDS", default=60)),
    },
    "delivery-hosted-leftovers": {
        "task": "delivery.hosted_leftovers_remove",
        "schedule": timedelta(hours=1),
    },
    "delivery-acknowledge-reminders": {
        "task": "delivery.acknowledge_reminders",
        "schedule": timedelta(minutes=15),
    },
    "statements-monthly-summaries": {
        "task": "statements.send_monthly_summaries",
        "schedule": crontab(minute=0, hour=6, day_of_month=1),
    },
    # The same run again every hour until the 3rd: beat counts an entry as run before it has
    # sent it (Redis down at 06:00 loses it), and a run that failed whole is not retried; a run
    # after the summaries are made sends nothing (each is made once per retailer and month).
    "statements-monthly-summaries-catch-up": {
        "task": "statements.send_monthly_summaries",
        "schedule": crontab(minute=30, hour="7-23", day_of_month="1-3"),
    },
}
