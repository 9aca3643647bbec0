from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from aimaker.ratelimit import client_ip, rate_limit_hit
from projects.access import projects_public


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


def home(request: HttpRequest) -> HttpResponse:
    recent = projects_public().for_cards()[:6]
    return render(request, "home.html", {"recent": recent})


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("projects:list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not rate_limit_hit(
            key=f"signup:{client_ip(request)}",
            limit=settings.AIMAKER_SIGNUPS_PER_IP_PER_HOUR,
            window=3600,
        ):
            form.add_error(None, "Too many new accounts from your address. Try again later.")
            return render(request, "registration/signup.html", {"form": form}, status=429)
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}! Make your first AI.")
        return redirect("projects:create")
    return render(request, "registration/signup.html", {"form": form})
