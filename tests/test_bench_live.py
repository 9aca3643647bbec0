"""A small bench.live in CI: many logged-in viewers through a real daphne, none dropped, every
one gets the final event, and the server log stays free of tracebacks."""

import json
import subprocess
import sys

from django.conf import settings


def test_it_reaches_every_viewer_without_drops():
    out = subprocess.run(
        [sys.executable, "-m", "bench.live", "--viewers", "40", "--seconds", "3"],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["connected"] == 40 and figures["connect_errors"] == 0, figures
    assert figures["lost_final"] == 0 and figures["dropped"] == 0, figures
    assert figures["messages"] == 40 * figures["events"], figures  # nothing lost on the way
    assert figures["server_tracebacks"] == 0, figures
