"""What training tells the apps built on it, so it never imports them (projects <- datasets <-
training <- inference)."""

from django.dispatch import Signal

# Sent by the worker with `run=` when a run has succeeded, before the page hears: receivers do
# the quick bookkeeping the page will show (inference numbers the model version).
run_succeeded = Signal()

# Sent with `run=` after the page has heard: receivers do the slow follow-up in the worker
# (inference prepares the version's serving form).
run_announced = Signal()
