from django.contrib import admin
from django.urls import include, path

from aimaker import ops, views
from projects import views as project_views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("explore/", project_views.explore, name="explore"),
    path("projects/", include("projects.urls")),
    path("projects/<int:pk>/data/", include("datasets.urls")),
    path("projects/<int:pk>/training/", include("training.urls")),
    path("projects/<int:pk>/models/", include("inference.urls")),
    path("api/v1/", include("aimaker.api_urls")),
    path("settings/tokens/", include("inference.token_urls")),
    path("ops/", include("aimaker.staff.urls")),
    path("admin/rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
]
