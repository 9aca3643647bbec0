"""Extra context for the project page, contributed by other apps (data, training, models).

Each app registers a function from its AppConfig.ready(); the page includes that app's
`<app>/_project_panel.html` template, which reads what the function returned."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from projects.models import Project

PanelContributor = Callable[[HttpRequest, Project], dict[str, Any]]
_contributors: list[PanelContributor] = []


def register(contributor: PanelContributor) -> PanelContributor:
    if contributor not in _contributors:
        _contributors.append(contributor)
    return contributor


def panels_context(request: HttpRequest, project: Project) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for contributor in _contributors:
        context.update(contributor(request, project))
    return context
