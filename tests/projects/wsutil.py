"""Helpers to open the websockets through the full ASGI stack (origin + auth)."""

from channels.testing import WebsocketCommunicator

from aimaker.asgi import application


def session_cookie(client) -> str:
    return client.cookies["sessionid"].value if "sessionid" in client.cookies else ""


def socket(path: str, *, session: str = "", origin: str = "http://testserver"):
    headers = [(b"host", b"testserver"), (b"origin", origin.encode())]
    if session:
        headers.append((b"cookie", f"sessionid={session}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


def communicator(project_id: int, *, session: str = "", origin: str = "http://testserver"):
    return socket(f"/ws/projects/{project_id}/", session=session, origin=origin)


async def receive_until(comm, predicate, timeout: float = 10.0) -> list[dict]:
    """Collect events until one satisfies `predicate`; returns all collected."""
    import asyncio

    events = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no matching event within {timeout}s; got {events[-5:]}")
        event = await comm.receive_json_from(timeout=remaining)
        events.append(event)
        if predicate(event):
            return events
