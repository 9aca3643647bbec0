"""Steps the browser tests share."""

from django.urls import reverse


def log_in(page, base: str, username: str, password: str) -> None:
    """Log in through the real form (and land on "My AIs")."""
    page.goto(base + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/projects/")
