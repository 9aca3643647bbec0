"""Mounted at settings/tokens/: the signed-in user's personal API tokens."""

from django.urls import path

from inference import views

app_name = "tokens"

urlpatterns = [
    path("", views.tokens, name="list"),
    path("<int:token_pk>/revoke/", views.token_revoke, name="revoke"),
]
