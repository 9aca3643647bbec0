"""What every app's REST API shares: the same access rules as the pages (a project someone may
not see is a 404; an anonymous caller is asked for a token)."""

from __future__ import annotations

from django.http import Http404
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from projects.access import get_project_for_owner, get_project_for_viewer
from projects.models import Project

AUTH_REQUIRED = "Authentication required: send Authorization: Bearer <personal token>."


def api_ask_anonymous_for_a_token(request: Request) -> None:
    # A caller without credentials is told a token is needed (401 with WWW-Authenticate:
    # Bearer) for any project it may not see, existing or not, so this reveals nothing;
    # a signed-in caller still gets 404.
    if not request.user.is_authenticated:
        raise NotAuthenticated(AUTH_REQUIRED)


def api_project_for_viewer(request: Request, pk: int) -> Project:
    try:
        return get_project_for_viewer(request, pk)
    except Http404:
        api_ask_anonymous_for_a_token(request)
        raise


def api_project_for_owner(request: Request, pk: int) -> Project:
    try:
        return get_project_for_owner(request, pk)
    except Http404:
        api_ask_anonymous_for_a_token(request)
        raise
