"""Database ids typed by people (URLs, forms, command lines), parsed one way everywhere."""

ID_MAX = 2**63 - 1  # a BIGINT: larger values overflow SQLite's driver in `pk__in` lookups


def parse_id(value: object) -> int | None:
    """A database id typed by a user, or None. ASCII digits only: "²".isdigit() is True, yet
    int("²") raises."""
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= ID_MAX else None
