from django.urls import path

from aimaker.staff import views

app_name = "ops"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
]
