from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from projects import services
from projects.access import get_project_for_owner, get_project_for_viewer, projects_public
from projects.cards import project_cards_for_owner
from projects.forms import LabelRenameForm, LabelsAddForm, ProjectForm
from projects.models import Job, Label
from projects.panels import panels_context


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    cards = project_cards_for_owner(user=request.user, query=query)
    has_any = bool(cards) or (bool(query) and request.user.projects.exists())
    context = {"cards": cards, "query": query, "has_any": has_any}
    return render(request, "projects/project_list.html", context)


@login_required
def project_create(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.project_create(owner=request.user, **form.cleaned_data)
        messages.success(request, f"“{project.name}” is ready. Step 1: add its labels.")
        return redirect(project)
    return render(request, "projects/project_form.html", {"form": form})


def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_viewer(request, pk)
    is_owner = request.user == project.owner
    if not is_owner:
        # Visitors get their own page: the model to try and the images, none of the work.
        context = {
            "project": project,
            "is_owner": False,
            "labels": project.labels.all(),
            **panels_context(request, project),
        }
        return render(request, "projects/project_visitor.html", context)
    context = {
        "project": project,
        "is_owner": is_owner,
        "labels": project.labels.all(),
        "add_form": LabelsAddForm(),
        "jobs": project.jobs.all()[:5],
        **panels_context(request, project),
    }
    return render(request, "projects/project_detail.html", context)


def project_edit(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    form = ProjectForm(request.POST or None, instance=project)
    if request.method == "POST" and form.is_valid():
        services.project_update(project=project, **form.cleaned_data)
        messages.success(request, "Saved.")
        return redirect(project)
    return render(request, "projects/project_form.html", {"form": form, "project": project})


def project_delete(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    if request.method == "POST":
        name = project.name
        project.delete()
        messages.success(request, f"“{name}” was deleted.")
        return redirect("projects:list")
    return render(request, "projects/project_confirm_delete.html", {"project": project})


def labels_add(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = LabelsAddForm(request.POST)
    if form.is_valid():
        try:
            created = services.label_create_many(project=project, text=form.cleaned_data["names"])
        except ValidationError as exc:
            for error in exc.messages:
                form.add_error("names", error)
        else:
            names = ", ".join(label.name for label in created)
            messages.success(request, f"Added {len(created)} label(s): {names}.")
            return redirect(project)
    # Re-show the page with the typed text kept and every problem listed.
    context = {
        "project": project,
        "is_owner": True,
        "labels": project.labels.all(),
        "add_form": form,
        "jobs": project.jobs.all()[:5],
        **panels_context(request, project),
    }
    return render(request, "projects/project_detail.html", context, status=400)


def _get_label_for_owner(request: HttpRequest, pk: int, label_pk: int) -> Label:
    project = get_project_for_owner(request, pk)
    return get_object_or_404(Label, pk=label_pk, project=project)


def label_rename(request: HttpRequest, pk: int, label_pk: int) -> HttpResponse:
    label = _get_label_for_owner(request, pk, label_pk)
    old_name = label.name
    form = LabelRenameForm(request.POST or None, instance=Label(pk=label.pk, name=label.name))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.label_rename(label=label, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error("name", exc.messages[0])
            status = 400
        else:
            messages.success(request, f"Renamed “{old_name}” to “{label.name}”.")
            return redirect(label.project)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "projects/label_rename.html",
        {"form": form, "label": label, "old_name": old_name, "project": label.project},
        status=status,
    )


def label_delete(request: HttpRequest, pk: int, label_pk: int) -> HttpResponse:
    label = _get_label_for_owner(request, pk, label_pk)
    image_count = label.images.count() if hasattr(label, "images") else 0
    if request.method == "POST":
        services.label_delete(label=label)
        messages.success(request, f"Deleted label “{label.name}” and its {image_count} image(s).")
        return redirect(label.project)
    return render(
        request,
        "projects/label_confirm_delete.html",
        {"label": label, "project": label.project, "image_count": image_count},
    )


def explore(request: HttpRequest) -> HttpResponse:
    public = projects_public().for_cards()
    page = Paginator(public, settings.AIMAKER_EXPLORE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "projects/explore.html", {"page": page})


def job_cancel(request: HttpRequest, pk: int, job_pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    job = get_object_or_404(Job, pk=job_pk, project=project)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if job.is_active:
        services.job_cancel(job=job, by=request.user)
        messages.info(request, f"Cancelling “{job.title}”.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = project.get_absolute_url()
    return redirect(next_url)
