"""Production's static files storage: WhiteNoise's manifest storage, without the 500.

With DEBUG false a page links each static file by its hashed name from STATIC_ROOT's manifest
(`staticfiles.json`, written by `manage.py collectstatic`). WhiteNoise's storage raises when
a name is not there (collectstatic never run, or run for an older release), and Django answers
that page 500. This one links a static file's plain name instead (the page renders, if
unstyled), logs it once per name, and says whether the manifest is missing for /healthz to
answer 503.

A process reads the manifest once, at its start, as WhiteNoise lists STATIC_ROOT's files
once (no autorefresh without DEBUG): a manifest read later named hashed files that nothing
served, and /healthz said 200 over pages whose stylesheet was a 404. After a late
collectstatic /healthz stays 503 until the process is restarted.
"""

import logging
from urllib.parse import urlsplit

from django.contrib.staticfiles import finders
from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._unhashed: set[str] = set()
        self._not_static: set[str] = set()

    def manifest_missing(self) -> bool:
        """Whether this process started without a manifest (read at its start only)."""
        return not self.hashed_files

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            if name in self._not_static:
                raise
            if name not in self._unhashed:
                # WhiteNoise asks, at every start, for names that are no static file at all
                # (each hashed file's name without its hash, e.g. "font-awesome-4.0.css" of
                # "font-awesome-4.0.3.css") and takes ValueError for "not versioned": those
                # still raise, and only a real static file is linked by its plain name.
                if finders.find(urlsplit(name).path) is None:
                    self._not_static.add(name)
                    raise
                self._unhashed.add(name)
                logger.error(
                    "Static file %r is not in %s's manifest (run manage.py collectstatic): "
                    "linked by its plain name",
                    name,
                    self.location,
                )
            return name
