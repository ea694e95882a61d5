"""Delivery: webhooks, the hosted SFTP server, retries, the sweeper, dispatch, and summaries."""

from .base import VAR_DIR, env
from .database import DATABASES

# --- Delivery -----------------------------------------------------------------------------
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# The hosted SFTP server (delivery/hosted/, `manage.py serve_sftp`). ROOT is the hosted
# storage the server and every worker share; ADDRESS is the host name suppliers are told.
HOSTED_SFTP_PORT = env.int("HOSTED_SFTP_PORT", default=2222)
HOSTED_SFTP_BIND = env.str("HOSTED_SFTP_BIND", default="127.0.0.1")
HOSTED_SFTP_ADDRESS = env.str("HOSTED_SFTP_ADDRESS", default="localhost")
HOSTED_SFTP_ROOT = env.str("HOSTED_SFTP_ROOT", default=str(VAR_DIR / "sftp"))
HOSTED_SFTP_HOST_KEY_FILE = env.str(
    "HOSTED_SFTP_HOST_KEY_FILE", default=str(VAR_DIR / "sftp_host_key")
)
# What one supplier's hosted folder may hold, uploads and order files together
# (delivery/hosted/quota.py): past it the server refuses writes, so no supplier fills the disk
# every supplier's order files are written to.
HOSTED_SFTP_QUOTA_MB = env.int("HOSTED_SFTP_QUOTA_MB", default=1024)
# And at most this many files and folders: files of no size, made without end, take no quota
# but an inode each of the disk every supplier shares, and a step of every walk of the folder.
HOSTED_SFTP_MAX_FILES = env.int("HOSTED_SFTP_MAX_FILES", default=100_000)
# A temporary file in a hosted folder that nobody finished (a client's upload under a temporary
# name cut off before its rename; ours, left by a killed process) is removed once unchanged
# this long, by an hourly task (delivery/hosted/storage.py `leftovers_remove`).
HOSTED_SFTP_LEFTOVER_HOURS = env.float("HOSTED_SFTP_LEFTOVER_HOURS", default=24.0)
# Failed hosted SFTP passwords from one address, whatever the user name, per
# AXES_COOLOFF_MINUTES: past it that address's passwords are refused unchecked (its keys are
# still checked), so made-up user names cannot keep the server hashing (hosted/throttle.py).
HOSTED_SFTP_ADDRESS_FAILURE_LIMIT = env.int("HOSTED_SFTP_ADDRESS_FAILURE_LIMIT", default=30)
# How often a hosted SFTP session's login is checked again: one whose key was removed, whose
# password was replaced or whose supplier was made inactive is disconnected.
HOSTED_SFTP_LOGIN_RECHECK_SECONDS = env.float("HOSTED_SFTP_LOGIN_RECHECK_SECONDS", default=30.0)
# "Fetch fingerprint" and "Test connection" run in a web request: connect, handshake and each
# request are bounded by this (deliveries have their own, longer bounds).
SFTP_PROBE_TIMEOUT_SECONDS = env.float("SFTP_PROBE_TIMEOUT_SECONDS", default=5.0)
# An update file on a supplier's own server is taken once its server has not changed it for
# this long (by the server's clock): one still being uploaded under its final name is left
# for the next run instead of being applied cut short. 0 takes every file at once.
SFTP_UPDATE_SETTLE_SECONDS = env.float("SFTP_UPDATE_SETTLE_SECONDS", default=60.0)
# How many of those two a supplier may run per minute (each opens a connection).
SFTP_PROBES_PER_MINUTE = env.int("SFTP_PROBES_PER_MINUTE", default=10)
WEBHOOK_TESTS_PER_MINUTE = env.int("WEBHOOK_TESTS_PER_MINUTE", default=10)
# Seconds before each try of a delivery: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
# 14 h, 20 h, 24 h (about three days); each delay gets +-10% jitter. After the last, it fails.
DELIVERY_RETRY_SCHEDULE = env.list(
    "DELIVERY_RETRY_SCHEDULE",
    cast=int,
    default=[0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400],
)
# An SFTP run that failed (or never reported: lost with the broker, its worker killed) is due
# again after these many seconds, the Nth entry after N such runs in a row (the last repeats),
# each capped at the destination's interval; a run that sent everything clears it. The beat
# looks every minute, so the first retry is the next minute's run.
SFTP_RUN_RETRY_SECONDS = env.list(
    "SFTP_RUN_RETRY_SECONDS", cast=int, default=[60, 120, 240, 480, 900]
)
# Seconds in one minute of a destination's SFTP interval. Always 60 in use; only the chaos
# soak's CI run (delivery/tests/test_chaos.py) shortens it, with SFTP_RUN_CHECK_SECONDS (how
# often the beat looks for due runs), to see minutes of SFTP runs in seconds.
SFTP_INTERVAL_MINUTE_SECONDS = env.int("SFTP_INTERVAL_MINUTE_SECONDS", default=60)
# Retries due within this many seconds go out as a countdown; later ones the sweeper queues
# from the database (never a countdown that could outlive the broker's visibility timeout).
DELIVERY_MAX_COUNTDOWN_SECONDS = env.int("DELIVERY_MAX_COUNTDOWN_SECONDS", default=300)
# A worker's lease on a delivery while sending; longer than any channel's timeout.
DELIVERY_CLAIM_SECONDS = env.int("DELIVERY_CLAIM_SECONDS", default=120)
# The sweeper re-queues lost deliveries only while the broker's queue holds fewer messages.
DELIVERY_SWEEP_QUEUE_LIMIT = env.int("DELIVERY_SWEEP_QUEUE_LIMIT", default=200)
# After a success, a worker takes up to this many of that webhook or email destination's
# other due deliveries along, over one connection (their lease covers the whole batch).
DELIVERY_DESTINATION_BATCH = env.int("DELIVERY_DESTINATION_BATCH", default=50)
# After a delivery to a webhook or email destination succeeds, that destination's rows waiting
# on a retry whose last try failed at least this long ago go along at once (they need not wait
# out their backoff: the receiver or relay is back).
DELIVERY_HEALED_MIN_WAIT_SECONDS = env.int("DELIVERY_HEALED_MIN_WAIT_SECONDS", default=30)
# A delivery redelivered on request (portal, admin, `redeliver`) cannot be again for this long.
DELIVERY_REDELIVER_COOLDOWN_SECONDS = env.int("DELIVERY_REDELIVER_COOLDOWN_SECONDS", default=60)
# The portal's "Redeliver all failed" queues at most this many (the oldest) a press, and says
# how many more there are: one request never resets or queues an unbounded number of rows.
DELIVERY_PORTAL_REDELIVER_BATCH = env.int("DELIVERY_PORTAL_REDELIVER_BATCH", default=1000)
# The sweeper queues a due delivery again when its last queuing is older than this.
DELIVERY_REQUEUE_AFTER_SECONDS = env.int("DELIVERY_REQUEUE_AFTER_SECONDS", default=60)
# Who turns committed order events into deliveries (docs/architecture.md, the flow's step 3):
# - "listener": `manage.py dispatch_events`, woken by PostgreSQL's NOTIFY at each commit; web
#   requests do no dispatch work at all. The default on PostgreSQL; run at least one.
# - "inline": the web request (or command) that wrote the events, right after its commit.
#   The default on SQLite, where nothing else can be woken at commit.
# Either way the sweeper dispatches whatever is still undispatched after the grace below.
# Any other value is refused (delivery/checks.py).
DELIVERY_DISPATCH = env.str(
    "DELIVERY_DISPATCH",
    default="listener" if DATABASES["default"]["ENGINE"].endswith("postgresql") else "inline",
)
# The sweeper dispatches events still undispatched after this many seconds.
DELIVERY_DISPATCH_GRACE_SECONDS = env.int("DELIVERY_DISPATCH_GRACE_SECONDS", default=5)
# After a failed publish, stop trying the broker for this long (web requests stay fast).
DELIVERY_BROKER_BACKOFF_SECONDS = env.float("DELIVERY_BROKER_BACKOFF_SECONDS", default=5.0)
SUMMARY_SEND_EMPTY = env.bool("SUMMARY_SEND_EMPTY", default=True)
# A summary of more orders than this carries its order list as a CSV attachment instead of
# the table (docs/summaries.md).
SUMMARY_EMAIL_ORDER_LIMIT = env.int("SUMMARY_EMAIL_ORDER_LIMIT", default=200)
# A summary run builds retailers in batches of at most this many orders of the month (one
# retailer with more goes alone), which bounds its memory (statements/batches.py).
SUMMARY_BATCH_ORDERS = env.int("SUMMARY_BATCH_ORDERS", default=20000)
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# The platform's name, as emails and their subjects' readers know it.
PLATFORM_NAME = env.str("PLATFORM_NAME", default="Orders portal")
