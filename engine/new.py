"""`build.py new DIR`: a new explainer's skeleton, ready to build, check and serve.

Writes the settings, a home page, one section citing one source, the sources, timeline and glossary
pages with one entry each, and a copy of the layouts. Refuses a folder that exists and is not empty.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import UsageError

# The skeleton's files, each with the fields README.md documents; every text is a placeholder to replace.
SKELETON = {
    "site_config.yaml": """\
# Site settings: every key is documented in the generator's README.md ("Settings").
title: "A new explainer"
tagline: "An explainer"
description: "One sentence on what this explainer covers, for search results and link previews."
base_url: "https://example.org/explainers/new-explainer/"
language: en
author: "The explainer team"
publisher: "Explainer Microsites"
contact: "corrections@example.org"
nav: [first-section, timeline, glossary, sources]
output: output
""",
    ".gitignore": "/output/\n/.output.*\n/.output.lock\n.cache/\n",
    "content/index.md": """\
---
title: A new explainer
summary: One sentence on the question this explainer answers.
layout: home
---
Say in a paragraph what happened and why it matters, citing where each fact comes from [@first-source].

## Key takeaways

- **The first point:** one sentence a reader should remember [@first-source].
""",
    "content/first-section.md": """\
---
title: First section
summary: One sentence on what this section explains.
order: 1
---
## What happened

Each claim ends with the source that supports it [@first-source]. The first use of a glossary term,
such as a placeholder term, links to its definition.
""",
    "content/sources.yaml": """\
# Sources, keyed by the id pages cite as [@id]. Fields are documented in the generator's README.md ("Citations and sources").
first-source:
  title: "The title of the first source"
  publisher: The publisher
  date: "2024-01-15"
  url: https://www.example.com/first-source
  archive_url: https://web.archive.org/web/2024/https://www.example.com/first-source
  kind: news report
  note: What this source supports on this site.
""",
    "content/timeline.yaml": """\
# Categories and events. Fields are documented in the generator's README.md ("Timeline").
categories:
  events: Events
events:
  - date: "2024-01"
    title: The first event
    body: "What happened, in a sentence [@first-source]."
    sources: [first-source]
    section: first-section
    category: events
    highlight: true
""",
    "content/glossary.yaml": """\
# Terms linked on first use on every page. Fields are documented in the generator's README.md ("Glossary").
placeholder-term:
  term: placeholder term
  definition: "What the term means, in a sentence or two [@first-source]."
""",
    "content/sources.md": """\
---
title: Sources
summary: Every source this explainer relies on, and where it is cited.
layout: sources
---
""",
    "content/timeline.md": """\
---
title: Timeline
summary: The events this explainer covers, in order.
layout: timeline
---
""",
    "content/glossary.md": """\
---
title: Glossary
summary: Plain explanations of the terms this explainer uses.
layout: glossary
---
""",
}


def write_skeleton(folder: Path, layouts: Path) -> list[str]:
    """Write a new explainer into folder (created if missing) with a copy of `layouts`; the paths written."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"refusing to write a new explainer into {folder}: it is not an empty folder "
                         "(choose a new folder name)")
    if not layouts.is_dir():
        raise UsageError(f"there are no layouts to copy at {layouts}")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in SKELETON.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    shutil.copytree(layouts, folder / "layouts", ignore=shutil.ignore_patterns("__pycache__", ".*"))
    return [*SKELETON, "layouts/"]
