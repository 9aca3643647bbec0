from django.urls import path

from aimaker.staff.consumers import OpsConsumer
from projects.consumers import MeConsumer, ProjectConsumer

websocket_urlpatterns = [
    path("ws/projects/<int:pk>/", ProjectConsumer.as_asgi()),
    path("ws/me/", MeConsumer.as_asgi()),
    path("ws/ops/", OpsConsumer.as_asgi()),
]
