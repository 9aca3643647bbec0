"""RQ jobs of the projects app. Jobs take ids, never model instances."""

import time

from aimaker.logs import bind_job
from projects.models import Job
from projects.services import JobReporter, job_run


@bind_job("job_id")
def demo_progress(job_id: int) -> None:
    """A demo job proving the live plumbing: counts to `steps`, reporting progress."""

    def work(job: Job, reporter: JobReporter) -> dict:
        steps = int(job.params.get("steps", 20))
        delay = float(job.params.get("delay", 0.2))
        for step in range(1, steps + 1):
            time.sleep(delay)
            reporter.progress(step, steps, f"Step {step} of {steps}")
        return {"steps": steps}

    job_run(job_id=job_id, work=work)
