"""Small request helpers shared by the apps' views."""

from django.http import HttpRequest


def wants_json(request: HttpRequest) -> bool:
    """The page's script asked for JSON (fetch with Accept: application/json)."""
    return "application/json" in request.headers.get("Accept", "")
