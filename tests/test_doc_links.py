"""Cross-references in the API reference are links, not plain code spans (issue 16).

docs/api.md renders docstrings with mkdocstrings; a docstring that names another documented
object must link it (``[`Report`][kerasnets.counting.Report]``), so the page a reader sees has
working cross-references, as Sphinx roles gave before. This test collects every object the page
renders (each ``::: path`` block, with its ``members:`` option or the module's public members),
then looks for code spans in their docstrings that name one of them: a full dotted
``kerasnets.`` path, or a class-style / called (``name()``) short name that is unique among the
documented objects. ``mkdocs build --strict`` (tests/test_docs.py) checks that every link resolves.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import re

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"^::: (\S+)(?:\n    options:\n      members: \[([^\]]*)\])?", re.M)
# A code span not already the text of a link: ``x`` or `x`, optionally called.
SPAN = re.compile(r"(?<![\[`])(``?)([A-Za-z_][\w.]*)(\(\))?\1(?![\]`])")


def _import(path):
    try:
        return importlib.import_module(path)
    except ImportError:
        module, _, attr = path.rpartition(".")
        return getattr(importlib.import_module(module), attr)


def _documented():
    """identifier -> object for everything docs/api.md renders."""
    found = {}

    def add(ident, obj, members=None):
        found[ident] = obj
        if inspect.ismodule(obj):
            names = members or [n for n in getattr(obj, "__all__", dir(obj)) if not n.startswith("_")]
            for name in names:
                member = getattr(obj, name, None)
                if member is None or inspect.ismodule(member):
                    continue
                if members is None and not str(getattr(member, "__module__", "kerasnets")).startswith("kerasnets"):
                    continue
                add(f"{ident}.{name}", member)
        elif inspect.isclass(obj):
            for name, member in vars(obj).items():
                if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property)):
                    found[f"{ident}.{name}"] = member

    for path, members in BLOCK.findall((DOCS / "api.md").read_text()):
        add(path, _import(path), [m.strip() for m in members.split(",")] if members else None)
    return found


def _unlinked_references():
    documented = _documented()
    by_short = {}
    for ident in documented:
        by_short.setdefault(ident.rsplit(".", 1)[-1], set()).add(ident)
    seen, hits = set(), set()
    for ident, obj in documented.items():
        doc = obj.__doc__ if isinstance(obj, property) else inspect.getdoc(obj)
        if not doc or doc in seen:
            continue
        seen.add(doc)
        for match in SPAN.finditer(doc):
            name, called = match.group(2), match.group(3)
            short = by_short.get(name.rsplit(".", 1)[-1], set())
            if name in documented:
                target = name
            elif name.startswith("kerasnets.") and len(short) == 1:
                target = next(iter(short))
            elif not name.startswith("kerasnets.") and len(short) == 1 and "." not in name and (called or name[0].isupper()):
                target = next(iter(short))
            else:
                continue
            if target != ident:
                hits.add(f"{ident}: {match.group(0)} -> [{match.group(0).strip('`')}][{target}]")
    return sorted(hits)


def test_rendered_docstrings_link_the_objects_they_name():
    hits = _unlinked_references()
    assert not hits, "plain code spans naming documented objects (write them as links):\n" + "\n".join(hits)


def test_the_scanner_finds_a_plain_reference(monkeypatch):
    import kerasnets.counting

    monkeypatch.setattr(kerasnets.counting.count, "__doc__", "Count a model into a ``Report``.")
    assert any("``Report`` -> [Report][kerasnets.counting.Report]" in h for h in _unlinked_references())
