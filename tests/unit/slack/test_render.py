"""Markdown from the model as Slack mrkdwn (formatting-message-text)."""

from __future__ import annotations

import pytest

from hermes.platforms.slack.render import fit, render, to_plain


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("**bold** and *it* and _it_", "*bold* and _it_ and _it_"),
        ("~~gone~~", "~gone~"),
        ("[site](https://x.io/?a=1&b=2)", "<https://x.io/?a=1&amp;b=2|site>"),
        ("1 < 2 & 3 > 2", "1 &lt; 2 &amp; 3 &gt; 2"),
        ("# Title", "*Title*"),
        ("- one\n- two", "• one\n• two"),
        ("> quoted", "> quoted"),
        ("`a<b`", "`a&lt;b`"),
        ("```python\nif a < b:\n    pass\n```", "```\nif a &lt; b:\n    pass\n```"),
        ("**not *nested* wrong**", "*not _nested_ wrong*"),
        ("snake_case_name stays", "snake_case_name stays"),
    ],
)
def test_markdown_to_mrkdwn(markdown: str, mrkdwn: str) -> None:
    rendered = render(markdown)
    assert rendered.text == mrkdwn
    assert rendered.blocks is None


def test_a_table_becomes_monospace_text_and_blocks() -> None:
    rendered = render("Totals:\n\n| name | n |\n|---|---:|\n| a<b | 10 |\n| c | 2 |")
    assert "```\nname | n\n-----+---\na&lt;b  | 10\nc    | 2\n```" in rendered.text
    assert rendered.blocks is not None
    section, table = rendered.blocks
    assert section == {"type": "section", "text": {"type": "mrkdwn", "text": "Totals:"}}
    preformatted = table["elements"][0]
    assert preformatted["type"] == "rich_text_preformatted"
    # rich text is literal: no entities there
    assert "a<b" in preformatted["elements"][0]["text"]


def test_people_markup_read_back_as_plain_text() -> None:
    text = "see <https://a.b|the site> &lt;x&gt; in <#C1|general>, <!here> <@U1>"
    assert to_plain(text) == "see the site (https://a.b) <x> in #general, @here <@U1>"


def test_fit_never_cuts_an_entity() -> None:
    assert fit("abc &amp; def", 8) == "abc …"
    assert fit("short", 10) == "short"
