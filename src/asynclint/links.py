"""Where the project and its rule docs live online: the SARIF ``helpUri``s, the terminal view's
docs links, the language server's ``codeDescription`` and ``asynclint rules --output-format json``
all point here. Imports nothing heavy (the terminal view and the CLI use it without libcst)."""
from __future__ import annotations

import functools
from importlib import metadata

#: used when the installed distribution declares no project URL
DEFAULT_REPOSITORY = "https://github.com/asynclint/asynclint"


@functools.lru_cache(maxsize=None)
def repository_url() -> str:
    """The project's home, from the installed metadata (``[project.urls]``) when it names one."""
    try:
        urls = metadata.metadata("asynclint").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("homepage", "repository", "source", "source code") and url.strip():
            return url.strip().rstrip("/")
    return DEFAULT_REPOSITORY


def rules_doc_url() -> str:
    """docs/rules.md in the project's repository."""
    return f"{repository_url()}/blob/main/docs/rules.md"


def anchor(code: str, slug: str) -> str:
    """The GitHub anchor of a rule's heading in docs/rules.md (``asl200-blocking-sleep``)."""
    return f"{code.lower()}-{slug}"
