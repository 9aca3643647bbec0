"""`python manage.py monitor`: runs every app's sweepers (dead workers' runs and jobs, lost
queue entries, abandoned uploads, old predictions) every few seconds."""

import signal
import threading

from django.core.management.base import BaseCommand

from projects.work import CHECK_EVERY, monitor_loop


class Command(BaseCommand):
    help = "Fail the runs and jobs of dead workers and clean up, every few seconds (until Ctrl-C)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--every", type=float, default=CHECK_EVERY, help="seconds")

    def handle(self, *args, every: float, **options) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        monitor_loop(stop, every)
