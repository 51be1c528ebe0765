from __future__ import annotations

import json

from hermes.platforms.matrix.render import HTML_FORMAT, render, text_content, without_html
from hermes.platforms.matrix.sender import MAX_CONTENT_BYTES, edit_content, fit, thread_relation, txn_id_for


def test_plain_text_is_sent_without_html_and_with_empty_mentions() -> None:
    content = text_content('just words, "quoted" & fine')
    assert content == {"msgtype": "m.text", "body": 'just words, "quoted" & fine', "m.mentions": {}}


def test_markdown_becomes_html_and_the_body_keeps_the_markdown() -> None:
    content = text_content("**bold** and `code`\n\n- one\n- two")
    assert content["body"] == "**bold** and `code`\n\n- one\n- two"
    assert content["format"] == HTML_FORMAT
    assert content["formatted_body"] == (
        "<p><strong>bold</strong> and <code>code</code></p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>"
    )


def test_a_table_becomes_an_html_table_with_its_alignment() -> None:
    html = render("| name | n |\n|------|--:|\n| a | 1 |\n").html
    assert html is not None
    assert "<table>" in html and "<th>name</th>" in html
    assert '<td style="text-align:right">1</td>' in html


def test_single_newlines_are_line_breaks() -> None:
    assert render("one\ntwo").html == "<p>one<br>\ntwo</p>"


def test_code_blocks_keep_their_language_class_and_escape_their_content() -> None:
    html = render("```python\nprint('<b>')\n```").html
    assert html == "<pre><code class=\"language-python\">print('&lt;b&gt;')\n</code></pre>"


def test_raw_html_and_scripts_from_the_model_are_escaped_not_rendered() -> None:
    html = render("<script>alert(1)</script> <img src=x onerror=alert(1)> **x**").html
    assert html is not None
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_dangerous_links_do_not_survive() -> None:
    assert render("[x](javascript:alert(1))").html is None
    html = render("[ok](https://example.org) <https://example.org/a>").html
    assert (
        html
        == '<p><a href="https://example.org">ok</a> <a href="https://example.org/a">https://example.org/a</a></p>'
    )


def test_non_mxc_images_become_links() -> None:
    html = render("![cat](https://example.org/cat.png) ![dog](mxc://example.org/abc)").html
    assert (
        html
        == '<p><a href="https://example.org/cat.png">cat</a> <img src="mxc://example.org/abc" alt="dog"></p>'
    )


def test_user_ids_become_pills_and_mentions() -> None:
    content = text_content("thanks @alice:example.org and @bob:example.org:8448.")
    assert content["m.mentions"] == {"user_ids": ["@alice:example.org", "@bob:example.org:8448"]}
    assert content["formatted_body"] == (
        '<p>thanks <a href="https://matrix.to/#/@alice:example.org">@alice:example.org</a> and '
        '<a href="https://matrix.to/#/@bob:example.org:8448">@bob:example.org:8448</a>.</p>'
    )


def test_user_ids_in_code_links_or_emails_are_not_mentions() -> None:
    content = text_content(
        "`@alice:example.org` [@bob:x.org](https://x.org) mail a@b.org\n\n    @carol:x.org"
    )
    assert content["m.mentions"] == {}
    assert "matrix.to" not in content["formatted_body"]


def test_each_user_is_mentioned_once() -> None:
    assert render("@a:x.org @a:x.org").mentions == ("@a:x.org",)


def test_edit_carries_new_content_and_notifies_only_new_mentions() -> None:
    content = edit_content("$orig", "**done**, @alice:x.org and @bob:x.org", frozenset({"@alice:x.org"}))
    assert content["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$orig"}
    assert content["body"] == "* **done**, @alice:x.org and @bob:x.org"
    assert content["formatted_body"].startswith("* <p><strong>done</strong>")
    assert content["m.new_content"]["body"] == "**done**, @alice:x.org and @bob:x.org"
    assert content["m.new_content"]["m.mentions"] == {"user_ids": ["@alice:x.org", "@bob:x.org"]}
    assert "m.relates_to" not in content["m.new_content"]
    assert content["m.mentions"] == {"user_ids": ["@bob:x.org"]}


def test_thread_relation_falls_back_to_a_reply() -> None:
    assert thread_relation("$root", "$latest") == {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$latest"},
    }


def test_oversized_content_drops_its_html_but_keeps_the_text() -> None:
    markdown = "| a |\n|---|\n" + "| ünïcödé ✓ |\n" * 4000
    content = text_content(markdown)
    assert len(json.dumps(content, ensure_ascii=False).encode()) > MAX_CONTENT_BYTES
    fitted = fit(content)
    assert fitted == without_html(content)
    assert fitted["body"] == markdown and "formatted_body" not in fitted
    small = text_content("**x**")
    assert fit(small) is small


def test_transaction_ids_are_stable_per_key_and_distinct_across_keys() -> None:
    assert txn_id_for("$ev:0") == txn_id_for("$ev:0")
    assert txn_id_for("$ev:0") != txn_id_for("$ev:1")
    assert txn_id_for("$ev:0").isascii() and "/" not in txn_id_for("$ev:0")
