"""How the admin's lists show long values so every changelist fits a 1280 px window
(static/flownally/admin.css): cut to the column with the whole value on hover, or
summed up with the details on hover."""

from django.utils.html import format_html


def truncated(value: object) -> str:
    """The value on one line, cut with an ellipsis where its column ends; the whole of it
    in the tooltip. Nothing for no value."""
    if value in (None, ""):
        return ""
    return format_html('<span class="truncated" title="{}">{}</span>', value, value)


def summarised(summary: str, details: str) -> str:
    """A short summary (a count) whose details are the tooltip."""
    return format_html('<span class="has-details" title="{}">{}</span>', details, summary)
