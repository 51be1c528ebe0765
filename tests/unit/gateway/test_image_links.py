"""Every CommonMark image form becomes a link; code is left as written."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from hermes.gateway.image_links import images_as_links

MD = MarkdownIt("commonmark")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see ![](https://a.example/?d=s)", "see [image](https://a.example/?d=s)"),
        ('![alt](<https://a.example/x y.png> "t")', '[alt](<https://a.example/x y.png> "t")'),
        ("![ref][r]\n\n[r]: https://a.example/x.png", "[ref][r]\n\n[r]: https://a.example/x.png"),
        ("![short]\n\n[short]: https://a.example/s.png", "[short]\n\n[short]: https://a.example/s.png"),
        ("x `![a](b)` y ![c](d)", "x `![a](b)` y [c](d)"),
        ("```\n![a](b)\n```\n![c](d)", "```\n![a](b)\n```\n[c](d)"),
        ("    ![indented](code)\n\n![real](x)", "    ![indented](code)\n\n[real](x)"),
        ("`` ![a](b)", "`` [a](b)"),
        (r"\![literal](x) \\![image](y)", r"\![literal](x) \\[image](y)"),
        ("no images at all!", "no images at all!"),
    ],
)
def test_images_become_links(text: str, expected: str) -> None:
    assert images_as_links(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "![a](https://x/1) ![b][r] ![c]\n\n[r]: https://x/2\n[c]: https://x/3",
        "> quoted ![q](https://x/q)\n- item ![i](https://x/i)\n\n| t |\n|---|\n| ![t](https://x/t) |",
        "![outer ![inner](https://x/i)](https://x/o)",
        "`unclosed ![a](https://x/a)",
    ],
)
def test_nothing_renders_as_an_image(text: str) -> None:
    tokens = MD.parse(images_as_links(text))
    images = [c for t in tokens if t.children for c in t.children if c.type == "image"]
    assert images == []
