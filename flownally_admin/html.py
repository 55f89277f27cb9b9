"""Safe HTML from the plain texts we write ourselves (problem descriptions, say)."""

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_CODE_SPAN = re.compile(r"`([^`]+)`")


def code_spans(text: str) -> SafeString:
    """`text` escaped, each `…` span shown as <code>…</code>.

    The texts mark code with backticks, as Markdown does, because the same text is sent
    in JSON bodies; a page needs only this one construct of Markdown, so no Markdown
    library. Everything is escaped before it is wrapped; a lone backtick stays as it is.
    """
    # With a capturing group, split() gives text, code, text, code, …, text.
    parts = _CODE_SPAN.split(text)
    return mark_safe(  # noqa: S308 (every part is escaped)
        "".join(
            f"<code>{escape(part)}</code>" if index % 2 else escape(part)
            for index, part in enumerate(parts)
        )
    )
