from django.urls import path

from datasets import views, views_collect, views_export

app_name = "datasets"

# Mounted at projects/<int:pk>/data/ (aimaker/urls.py): every view gets the project as `pk`.
urlpatterns = [
    # Gallery and images
    path("", views.gallery, name="gallery"),
    path("images/action/", views.images_action, name="images_action"),
    path("images/<int:image_pk>/", views.image_detail, name="image_detail"),
    path("images/<int:image_pk>/file/<str:kind>/", views.image_file, name="image_file"),
    path("near-duplicates/", views.near_duplicates, name="near_duplicates"),
    path(
        "near-duplicates/<int:image_pk>/keep/",
        views.near_duplicate_keep,
        name="near_duplicate_keep",
    ),
    # Upload: images in batches, ZIP archives through a plan
    path("upload/", views.upload, name="upload"),
    path("upload/files/", views.upload_files, name="upload_files"),
    path("upload/zip/", views.zip_upload, name="zip_upload"),
    path("upload/zip/<str:token>/", views.zip_plan, name="zip_plan"),
    path("imports/<int:job_pk>/", views.import_result, name="import_result"),
    # Export: a ZIP of label folders with attribution.csv
    path("export/", views_export.export, name="export"),
    path("export/<int:job_pk>/download/", views_export.export_download, name="export_download"),
    # Collection from the web
    path("collect/", views_collect.collect_start, name="collect"),
]
