"""Mounted at projects/<int:pk>/models/ (the project kwarg is `pk`)."""

from django.urls import path

from inference import views, views_review

app_name = "inference"

urlpatterns = [
    path("", views.versions, name="versions"),
    path("v<int:number>/", views.version_detail, name="version"),
    path("v<int:number>/export/<str:fmt>/", views.export, name="export"),
    path("v<int:number>/unknown/", views.version_unknown, name="version_unknown"),
    path("predict/", views.predict, name="predict"),
    path("history/", views.history, name="history"),
    path("history/rerun/", views.rerun_start, name="rerun_start"),
    path("reruns/<int:rerun_pk>/", views.rerun_detail, name="rerun"),
    path("predictions/<int:prediction_pk>/image/", views.prediction_image, name="image"),
    path(
        "predictions/<int:prediction_pk>/review/",
        views_review.prediction_review,
        name="prediction_review",
    ),
    path("review/", views_review.review_list, name="review"),
]
