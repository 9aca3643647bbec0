"""Who may see and change a project. Every view starts with one of these helpers.

Anyone else gets 404, never 403, so that private projects do not reveal they exist."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from projects.models import Project

# Public: shared by its owner, not hidden by a moderator, and the owner's account is active
# (a deactivated account's projects leave Explore, the pages and the API with it).
PUBLIC = Q(visibility=Project.Visibility.PUBLIC, hidden=False, owner__is_active=True)


def projects_public() -> QuerySet[Project]:
    return Project.objects.filter(PUBLIC)


def projects_viewable_by(user: User | AnonymousUser) -> QuerySet[Project]:
    if user.is_authenticated:
        return Project.objects.filter(PUBLIC | Q(owner=user))
    return projects_public()


def get_project_for_owner(request: HttpRequest, pk: int) -> Project:
    if not request.user.is_authenticated:
        raise Http404("No such project.")
    return get_object_or_404(Project, pk=pk, owner=request.user)


def get_project_for_viewer(request: HttpRequest, pk: int) -> Project:
    return get_object_or_404(projects_viewable_by(request.user), pk=pk)


def can_view(user: User | AnonymousUser, project_id: int) -> bool:
    return projects_viewable_by(user).filter(pk=project_id).exists()
