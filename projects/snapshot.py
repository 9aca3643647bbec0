"""The state a project page needs on (re)connect, so a late page misses nothing.

Other apps add their part (e.g. training runs) with `register` from their AppConfig.ready()."""

from collections.abc import Callable
from typing import Any

from projects.models import Job, Project
from projects.services import job_event

Contributor = Callable[[Project], dict[str, Any]]
_contributors: list[Contributor] = []


def register(contributor: Contributor) -> Contributor:
    if contributor not in _contributors:
        _contributors.append(contributor)
    return contributor


def project_snapshot(project: Project) -> dict[str, Any]:
    recent = list(project.jobs.filter(status__in=Job.ACTIVE)) + list(
        project.jobs.exclude(status__in=Job.ACTIVE)[:5]
    )
    data: dict[str, Any] = {
        "type": "snapshot",
        "project": {"id": project.pk, "name": project.name},
        "jobs": [job_event(job)["job"] for job in recent],
    }
    for contributor in _contributors:
        data.update(contributor(project))
    return data
