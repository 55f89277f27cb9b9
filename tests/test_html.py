"""Code spans of our own texts as safe HTML."""

import pytest

from flownally_admin.html import code_spans


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("Send `a <b>` & wait.", "Send <code>a &lt;b&gt;</code> &amp; wait."),
        ("`x` and `y`", "<code>x</code> and <code>y</code>"),
        ("a lone ` stays", "a lone ` stays"),
        ("two `` ticks", "two `` ticks"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("`<script>`", "<code>&lt;script&gt;</code>"),
    ],
)
def test_code_spans(text, html):
    assert code_spans(text) == html
