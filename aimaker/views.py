from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from projects.models import Project


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


def home(request: HttpRequest) -> HttpResponse:
    recent = Project.objects.filter(visibility=Project.Visibility.PUBLIC, hidden=False)[:6]
    return render(request, "home.html", {"recent": recent})


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("projects:list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}! Make your first AI.")
        return redirect("projects:create")
    return render(request, "registration/signup.html", {"form": form})
