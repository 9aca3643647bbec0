from django.urls import path

from training import views

app_name = "training"

# Mounted under projects/<int:pk>/training/.
urlpatterns = [
    path("", views.history, name="history"),
    path("start/", views.training_start, name="start"),
    path("runs/<int:number>/", views.run_detail, name="run"),
    path("runs/<int:number>/cancel/", views.run_cancel, name="cancel"),
    path("runs/<int:number>/retry/", views.run_retry, name="retry"),
    path("runs/<int:number>/doubts/", views.doubts, name="doubts"),
    path(
        "runs/<int:number>/doubts/<int:image_pk>/",
        views.doubt_resolve,
        name="doubt_resolve",
    ),
]
