from django.urls import path

from projects import views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("new/", views.project_create, name="create"),
    path("<int:pk>/", views.project_detail, name="detail"),
    path("<int:pk>/edit/", views.project_edit, name="edit"),
    path("<int:pk>/delete/", views.project_delete, name="delete"),
    path("<int:pk>/labels/add/", views.labels_add, name="labels_add"),
    path("<int:pk>/labels/<int:label_pk>/rename/", views.label_rename, name="label_rename"),
    path("<int:pk>/labels/<int:label_pk>/delete/", views.label_delete, name="label_delete"),
    path("<int:pk>/jobs/<int:job_pk>/cancel/", views.job_cancel, name="job_cancel"),
]
