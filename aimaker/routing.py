from django.urls import path

from projects.consumers import ProjectConsumer

websocket_urlpatterns = [
    path("ws/projects/<int:pk>/", ProjectConsumer.as_asgi()),
]
