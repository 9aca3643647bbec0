import os

from aimaker.handlers import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aimaker.settings")
# Set up Django (apps, models) before importing consumers.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from aimaker.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

from django.conf import settings  # noqa: E402
from django.urls import get_resolver  # noqa: E402

# Import every view (DRF, the API schema) now rather than on the first request: ~0.13 s.
_ = get_resolver().url_patterns

if settings.AIMAKER_SERVING_WARM_AT_START:
    # Only the server imports this module (not migrate or other commands). Daphne listens
    # once this returns, so the first visitor after a restart finds the default models loaded
    # (ONNX files: about 0.1 s each, no Keras): 260 ms -> see docs/benchmarks.md "Serving".
    from inference.serving import warm_defaults  # noqa: E402

    warm_defaults()
