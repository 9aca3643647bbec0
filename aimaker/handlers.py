"""The HTTP side of the ASGI app: Django's own handler, with the middleware run synchronously.

Every view and middleware of this project is synchronous. Django's ASGIHandler runs such a
stack in async mode, so each middleware hook becomes a hop between the event loop and a thread
(about 15 per request); profiled under daphne, those hops cost 3–5 ms of a 27 ms prediction.
Here the whole stack runs in one thread, as under WSGI: one hop per request. Async views would
still work (Django wraps them with async_to_sync), but there are none.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.http import FileResponse, HttpRequest, HttpResponseBase


class SyncStackASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        response = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response


def get_asgi_application() -> SyncStackASGIHandler:
    """django.core.asgi.get_asgi_application with this handler."""
    import django

    django.setup(set_prefix=False)
    return SyncStackASGIHandler()
