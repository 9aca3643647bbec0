import pytest
from asgiref.testing import ApplicationCommunicator

from aimaker.handlers import SyncStackASGIHandler


async def _get(path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 5000),
        "server": ("localhost", 80),
    }  # fmt: skip
    app = ApplicationCommunicator(SyncStackASGIHandler(), scope)
    await app.send_input({"type": "http.request", "body": b""})
    start = await app.receive_output(10)
    body = b""
    while True:
        message = await app.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return start["status"], dict(start["headers"]), body


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_runs_pages_and_static_files_through_every_middleware():
    status, headers, body = await _get("/accounts/login/")
    assert status == 200 and b"<form" in body
    assert headers[b"X-Frame-Options"] == b"DENY"  # the middleware stack ran
    assert b"Content-Security-Policy" in headers
    status, headers, body = await _get("/static/js/unknown.js")
    assert status == 200 and body  # WhiteNoise's file response, streamed
    status, _, _ = await _get("/no/such/page/")
    assert status == 404
