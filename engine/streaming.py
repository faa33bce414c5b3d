"""Stage 5, for a page too large to hold: the sources list written to disk as it renders.

A sources list shows every place every source is cited; at 10,000 sections that is
45 MB of HTML, and rendering it in memory took several copies of it at once
(issue 8: peak memory at 10,000 pages). Here the page is rendered around a mark
where the list goes; then the head of the page, the list in blocks, the rest of
the body and the tail are written to the page cache one after another, linked
for glossary terms and scanned for links part by part.

In a one-off build the list's blocks are drawn by Jinja in a forked process and
sent down a pipe, so the main process links and scans one block while the next
is drawn: the page took a core for 0.5 s at 1,000 sections and 8 s at 10,000
while the other stood idle.

The result must be the bytes the in-memory path gives. Each block is checked for
what would make its parts read differently from the whole (a citation, a
heading, an explicit glossary link, a comment or script, a tag left open); on
any of them the page is rendered in memory instead (NotStreamable).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Generator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import jinja2

from .checks import LinkScanner, PageLinks
from .citations import CitationUse
from .content import Page
from .glossary import has_nested_open, open_skipped
from .markup import ConvertedBody
from .pagecache import PageFacts
from .parallel import can_fork_now, fork_with_pipe
from .render import STREAM_MARK, NotStreamable, OutputFile, RememberedPage, Renderer, StreamedList, digest_of_uses
from .safety import check_body_safety
from .sitelinks import link_facts, page_details

# A block of the list is written once it holds this many characters and ends an item.
_BLOCK = 1 << 18
# How many of Jinja's pieces of the list are joined at a time.
_PIECES_PER_BATCH = 4096
# What a block must not hold: a citation or heading (numbered and found on the whole body), an
# explicit glossary link (resolved before the list), markup the scanners read across '>' signs.
# Looked for in the block lowercased: a case-insensitive pattern with an alternative that does
# not start with '<' was tried at every character (0.1 s at 1,000 sections).
_UNSAFE_IN_LIST = ("<cite-marker", "<h1", "<h2", "<h3", "<h4", "<h5", "<h6", "glossary:", "<!", "<?", "<script",
                   "<style", "<x-directive")


def render_streamed(renderer: Renderer, page: Page, key: str, converted: ConvertedBody,
                    citing: list[tuple[Page, RememberedPage]], folder: Path, base_url: str
                    ) -> tuple[OutputFile, tuple[CitationUse, ...], str] | None:
    """Render a page that lists sources straight into the page cache under `key`; its file, uses and
    their digest, None when it has problems, NotStreamable when it must be rendered in memory."""
    problems_before, errors_before = len(renderer.problems), renderer.error_count()
    renderer.assets.take_recent()
    target = folder / key[:2] / f"{key}.html"
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        renderer.problems.extend(check_body_safety(page, converted))
        streamed = StreamedList()
        body = renderer.prepare_body(page, converted, renderer.usage_index(citing), streamed)
        if streamed.context is None:
            raise NotStreamable("no sources list")
        text = renderer.render_page(page, body)
        if text is None or renderer.error_count() > errors_before:
            return None
        head, mark, tail = text.partition(STREAM_MARK)
        if not mark or STREAM_MARK in tail:
            raise NotStreamable("the layout does not show the body once")
        scanner = LinkScanner()
        temporary.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            before = streamed.before
            if open_skipped(before) or before.rfind("<") > before.rfind(">"):
                raise NotStreamable("the list would open inside an element or tag")
            _write(handle, scanner, head)
            template = renderer.env.get_template("partials/sources.html")
            # Closed at once, even when a block is refused: a forked process draws them (_drawn_in_a_fork).
            with closing(_list_blocks(renderer, template, streamed.context)) as blocks:
                for block in blocks:
                    _write(handle, scanner, streamed.linker.first_uses(block) if streamed.linker else block)
            after = streamed.linker.first_uses(streamed.after) if streamed.linker else streamed.after
            _write(handle, scanner, after)
            scanner.feed(tail)
            handle.write(tail)
        found = scanner.result()
        uses = body.uses
        uses_digest = digest_of_uses(uses)
        ids_digest, external = link_facts(found, base_url)
        facts = PageFacts(uses_digest, ids_digest, external, tuple(renderer.assets.take_recent()))
        details = target.with_name(f"{key}.json")
        details_temporary = details.with_name(f"{details.name}.{os.getpid()}.tmp")
        _write_details(details_temporary, uses, found)
        os.replace(temporary, target)
        os.replace(details_temporary, details)
    except (NotStreamable, jinja2.TemplateError, OSError):
        # Rendered again in memory, where a template error is reported with its page and line.
        del renderer.problems[problems_before:]
        renderer.assets.take_recent()
        for leftover in (temporary, target.with_name(f"{key}.json.{os.getpid()}.tmp")):
            leftover.unlink(missing_ok=True)
        raise NotStreamable("rendered in memory instead") from None
    sources = frozenset({page.source, renderer.site.settings.config_source})
    return OutputFile(page.out_path, b"", sources, key, target, facts, uses=uses, links=found), uses, uses_digest


def _write_details(file: Path, uses: tuple[CitationUse, ...], found: PageLinks) -> None:
    """The page's details (sitelinks.page_details) as JSON, its links written a batch at a time: as one
    document, a sources list's 200,000 links took tens of MB at once. (json.dump would write in
    pieces too, but through the pure-Python encoder, ten times slower.)"""
    head = json.dumps(page_details(uses, PageLinks(found.ids, (), found.parse_problems)))
    opening, _, closing = head.partition('"links": []')
    with open(file, "w", encoding="utf-8") as handle:
        handle.write(opening + '"links": [')
        links = found.each_link()
        separator = ""
        while batch := list(itertools.islice(links, 4096)):
            handle.write(separator + json.dumps(batch)[1:-1])
            separator = ", "
        handle.write("]" + closing)


def _write(handle: object, scanner: LinkScanner, part: str) -> None:
    if not scanner.feed(part):
        raise NotStreamable("a part ends inside a tag")
    handle.write(part)  # type: ignore[attr-defined]


def _list_blocks(renderer: Renderer, template: jinja2.Template, context: dict[str, Any]
                 ) -> Generator[str, None, None]:
    """The list's blocks (_blocks), each checked here (_is_safe); NotStreamable when one is not safe.

    Drawn in a forked process when this is a one-off build that can fork, else here. The check
    is made here either way: Jinja is the slower side of the pipeline, and the check would
    lengthen it (0.29 -> 0.27 s for the sources page at 1,000 sections)."""
    drawn = _drawn_in_a_fork(template, context) if renderer.parallel is not None and can_fork_now() \
        else _drawn_here(template, context)
    with closing(drawn):
        for block in drawn:
            if not _is_safe(block):
                raise NotStreamable("the list holds markup that is read across its blocks")
            yield block


def _drawn_here(template: jinja2.Template, context: dict[str, Any]) -> Generator[str, None, None]:
    return _blocks(template.generate(context))


def _drawn_in_a_fork(template: jinja2.Template, context: dict[str, Any]) -> Generator[str, None, None]:
    """The list's blocks as a forked process draws them (_draw_list).

    It sends each block, then a mark of the end. (The list's template sees only its own
    variables, not the page's `assets`: what the forked process does changes nothing here.)
    A template error there is NotStreamable here, and the page is rendered in memory, where
    the error is reported with its page and line."""
    process, reader = fork_with_pipe("build-sources-list", _draw_list, template, context)
    try:
        while True:
            try:
                message = reader.recv_bytes()
            except (EOFError, OSError):
                raise NotStreamable("the process drawing the list stopped") from None
            kind, body = message[:1], message[1:]
            if kind == b"B":
                yield body.decode("utf-8")
            elif kind == b"E":
                return
            else:
                raise NotStreamable("the list has a template error")
    finally:
        reader.close()
        if process.is_alive():
            process.terminate()
        process.join()


def _draw_list(template: jinja2.Template, context: dict[str, Any], writer: Any) -> None:
    """In the forked process: send each block of the list, then the end; or the news of an error."""
    try:
        for block in _blocks(template.generate(context)):
            writer.send_bytes(b"B" + block.encode("utf-8"))
        writer.send_bytes(b"E")
    except BrokenPipeError:
        return  # the main process stopped reading: it renders the page another way
    except Exception:  # reported by the in-memory rendering the main process falls back to
        writer.send_bytes(b"X")


def _is_safe(block: str) -> bool:
    """Whether a block of the list reads the same on its own as inside the whole page."""
    return not (_holds_unsafe_text(block) or has_nested_open(block) or open_skipped(block))


def _holds_unsafe_text(block: str) -> bool:
    """Whether the block holds any of _UNSAFE_IN_LIST, in any ASCII case."""
    lowered = block.lower()
    return _UNSAFE_TAG.search(lowered) is not None or any(text in lowered for text in _UNSAFE_WORDS)


# The tags of _UNSAFE_IN_LIST in one pattern, which stops only at each '<': one search for
# each of them took four times as long (0.03 s at 1,000 sections); the words are searched alone.
_UNSAFE_TAG = re.compile("<(?:" + "|".join(re.escape(text[1:]) for text in _UNSAFE_IN_LIST if text[0] == "<") + ")")
_UNSAFE_WORDS = tuple(text for text in _UNSAFE_IN_LIST if text[0] != "<")


def _blocks(chunks: Iterator[str]) -> Generator[str, None, None]:
    """The list's text in blocks of about _BLOCK characters, each cut after an item's end tag.

    Jinja yields the list in pieces of a few characters: they are taken a batch at a time."""
    carry = ""
    while batch := list(itertools.islice(chunks, _PIECES_PER_BATCH)):
        text = carry + "".join(batch)
        cut = text.rfind("</li>") + len("</li>") if len(text) >= _BLOCK else 0
        if cut < len("</li>"):
            carry = text  # not enough yet, or no item has ended: keep going
            continue
        yield text[:cut]
        carry = text[cut:]
    if carry:
        yield carry
