"""The "4. Use" card of the project page."""

from typing import Any

from django.http import HttpRequest

from inference import services
from inference.export import FORMATS
from projects.models import Project


def project_panel(request: HttpRequest, project: Project) -> dict[str, Any]:
    versions = services.model_versions_list(project=project)
    default = next((v for v in versions if v.is_default), None)
    return {
        "use_default_version": default,
        "use_version_count": len(versions),
        "use_versions": versions,
        "use_latest_version": versions[0] if versions else None,
        "use_api_url": request.build_absolute_uri(f"/api/v1/projects/{project.pk}/predict/"),
        "use_export_formats": FORMATS,
    }
