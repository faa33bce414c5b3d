"""Raw HTML in content: the allow-list sanitizer's removals are reported, never silently made.

The table follows the classes of the OWASP XSS filter-evasion cheat sheet: case, separators,
entities, nested and broken tags, SVG and MathML, URL schemes, and what a page must not load or
redirect to. Each row is built as a real page, and the problem must name the row's line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import build_site, copy_site

from engine.safety import sanitize, unsafe_markup

_SCRIPT = "raw <script> is not allowed in content"
_EVENT = "the event attribute '{}=' is not allowed in content"
_URL = "a {}: URL is not allowed in content"

EVASIONS = [
    ('<div><img/onerror="alert(1)" src="x.png"></div>', _EVENT.format("onerror")),
    ('<div><p ONMOUSEOVER="alert(1)">x</p></div>', _EVENT.format("onmouseover")),
    ("<div><p\tonclick=alert(1)>x</p></div>", _EVENT.format("onclick")),
    ('<div><a href="&#106;avascript:alert(1)">x</a></div>', _URL.format("javascript")),
    ('<div><a href="&#x6A;&#x61;vascript:alert(1)">x</a></div>', _URL.format("javascript")),
    ('<div><a href=" jav&#x09;ascript:alert(1)">x</a></div>', _URL.format("javascript")),
    ('<div><a href="JaVaScRiPt:alert(1)">x</a></div>', _URL.format("javascript")),
    ('<div><a href="vbscript:msgbox(1)">x</a></div>', _URL.format("vbscript")),
    ('<div><a href="data:text/html;base64,PHNjcmlwdD4=">x</a></div>', _URL.format("data")),
    ("[click](javascript:alert(1))", _URL.format("javascript")),
    ('<div><button formaction="&#106;avascript:alert(1)">x</button></div>', "raw <button> is not allowed in content"),
    ('<object data="javascript:alert(1)"></object>', "raw <object> is not allowed in content"),
    ('<embed src="x.swf">', "raw <embed> is not allowed in content"),
    ('<div><form action="https://example.org/"><input name="q"></form></div>', "raw <form> is not allowed in content"),
    ('<meta http-equiv="refresh" content="0;url=https://example.org/">', "raw <meta> is not allowed in content"),
    ('<base href="https://example.org/">', "raw <base> is not allowed in content"),
    ("<ScRiPt>alert(1)</sCrIpT>", _SCRIPT),
    # An HTML5 tag name runs to the first space, '/' or '>': this is one unknown element, then text.
    ("<div><scr<script>ipt>alert(1)</script></div>", "raw <scr<script> is not allowed in content"),
    ("<iframe src=x></iframe>", "raw <iframe> is not allowed in content"),
    ("<svg onload=alert(1)></svg>", "raw <svg> is not allowed in content"),
    ('<div><svg><a xlink:href="javascript:alert(1)">x</a></svg></div>', "raw <svg> is not allowed in content"),
    ('<math><mtext><img src=x onerror="alert(1)"></mtext></math>', "raw <math> is not allowed in content"),
    ('<div><p style="color:red">x</p></div>', "the style attribute is not allowed in content"),
    ("<style>p { color: red }</style>", "raw <style> is not allowed in content"),
    ('<div><img src="https://tracker.example/x.png" alt="x"></div>',
     "<img src> from another host (tracker.example) is not allowed in content"),
    ('<div><img src="//tracker.example/x.png" alt="x"></div>',
     "<img src> from another host (tracker.example) is not allowed in content"),
]


@pytest.mark.parametrize("markup, message", EVASIONS, ids=[row[0][:40] for row in EVASIONS])
def test_each_evasion_is_refused_at_its_line(markup: str, message: str, tmp_path: Path) -> None:
    site = copy_site("minimal", tmp_path)
    (site / "content" / "evasion.md").write_text(
        f"---\ntitle: Evasion\nsummary: One trick.\n---\nA paragraph.\n\n{markup}\n\nAnother.\n", encoding="utf-8")
    code, lines = build_site(site, "--quiet")
    assert code == 1
    assert f"content/evasion.md:7: {message}" in [line.rsplit(" (", 1)[0] for line in lines], lines
    assert not (site / "output").exists()


@pytest.mark.parametrize("markup", [
    '<div class="note" id="n1"><p title="t">Plain <strong>HTML</strong>, <abbr title="x">ab</abbr>.</p></div>',
    '<figure><img src="../images/map.png" alt="A map" width="300"><figcaption>A map</figcaption></figure>',
    '<a href="https://example.org/a?b=1&amp;c=2">an outside link</a> and <a href="mailto:a@example.org">mail</a>',
    "<details open><summary>More</summary><p>Hidden text.</p></details>",
    '<table><tr><th scope="col" align="right">A</th></tr><tr><td colspan="2">1</td></tr></table>',
    "<!-- a writer's note -->",
])
def test_allowed_html_is_kept_as_written(markup: str) -> None:
    assert list(unsafe_markup(markup)) == []
    assert "example.org" not in markup or "example.org" in sanitize(markup)


def test_a_removal_is_reported_once_per_occurrence_at_each_line(tmp_path: Path) -> None:
    site = copy_site("minimal", tmp_path)
    (site / "content" / "two.md").write_text(
        "---\ntitle: Two\nsummary: Two tricks.\n---\n<div onclick=\"a()\">x</div>\n\nText.\n\n"
        "<div onclick=\"b()\">y</div>\n", encoding="utf-8")
    code, lines = build_site(site, "--quiet")
    assert code == 1
    assert [line.split(":", 2)[:2] for line in lines[:-1]] == [["content/two.md", "5"], ["content/two.md", "9"]]
