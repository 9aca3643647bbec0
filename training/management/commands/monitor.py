"""`python manage.py monitor`: marks training runs of dead workers failed, every few seconds."""

import signal
import threading

from django.core.management.base import BaseCommand

from training.monitor import CHECK_EVERY, monitor_loop


class Command(BaseCommand):
    help = "Watch training heartbeats and fail the runs of dead workers (until Ctrl-C)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--every", type=float, default=CHECK_EVERY, help="seconds")

    def handle(self, *args, every: float, **options) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        monitor_loop(stop, every)
