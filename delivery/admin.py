from . import admin_summaries  # noqa: F401  (monthly summaries; owned by the summaries work)
