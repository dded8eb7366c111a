"""The one loader for YAML that users write (manifest artifacts, ``#readYaml``, Jenkins property files).

``yaml.safe_load`` refuses Python objects but not a "billion laughs" document: nine anchors of ten
aliases each expand to 10**9 values once anything walks the result. This loader composes the document
(libyaml when available), then sizes the node graph as if aliases were expanded, each node once, and
refuses it before construction when aliases add more than ``MAX_ALIAS_EXPANSION`` nodes, when an alias
is recursive, or when it nests deeper than ``MAX_DEPTH``. Ordinary documents with a few anchors and
merge keys load as before. No I/O: usable inside Temporal workflow code.
"""

from __future__ import annotations

from typing import Any

import yaml

from core.errors import InvalidInputError

#: nodes that aliases may add to one document (the document's own nodes are bounded by its size).
MAX_ALIAS_EXPANSION = 100_000
#: deepest nesting of sequences and mappings.
MAX_DEPTH = 200


class YamlLimitError(InvalidInputError, yaml.YAMLError):
    """The document exceeds one of this module's limits; the message names the limit."""


#: libyaml's parser when PyYAML was built with it (it also caps nesting at 1,000), else the pure-Python one
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check(root: Any, max_alias_expansion: int, max_depth: int) -> None:
    """Size the composed node graph as if every alias were expanded, without expanding it: each node once,
    iteratively (aliases make it a graph whose expansion can be astronomically larger than the text)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    state: dict[int, int] = {}  # id(node) -> 1 while its children are being sized, 2 once sized
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, sized_children = stack.pop()
        key = id(node)
        kids = _children(node)
        if sized_children:
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            state[key] = 2
            continue
        if state.get(key) == 2:
            continue
        state[key] = 1
        stack.append((node, True))
        for kid in kids:
            seen = state.get(id(kid))
            if seen == 1:
                anchor = getattr(kid, "anchor", None) or "an anchor"
                raise YamlLimitError(f"YAML alias to {anchor} refers to itself (recursive alias)")
            if seen is None:
                stack.append((kid, False))
    if depth[id(root)] > max_depth:
        raise YamlLimitError(f"YAML is nested more than {max_depth} levels deep (the nesting limit)")
    if size[id(root)] - len(size) > max_alias_expansion:
        raise YamlLimitError(
            f"YAML document expands to more than {max_alias_expansion} extra nodes through aliases "
            "(the alias expansion limit); refused"
        )


def _parse_error(err: Exception, max_depth: int) -> Exception:
    """libyaml stops at 1,000 levels and the pure-Python composer recurses once per level: both are our limit."""
    if isinstance(err, RecursionError) or "maximum nesting depth" in str(err):
        return YamlLimitError(f"YAML is nested more than {max_depth} levels deep (the nesting limit)")
    return err


def load(text: str, *, max_alias_expansion: int = MAX_ALIAS_EXPANSION, max_depth: int = MAX_DEPTH) -> Any:
    """The first (only) document of ``text``, like ``yaml.safe_load``, within the limits above."""
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except (RecursionError, yaml.YAMLError) as err:
            raise _parse_error(err, max_depth) from None
        if node is None:
            return None
        _check(node, max_alias_expansion, max_depth)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_all(text: str, *, max_alias_expansion: int = MAX_ALIAS_EXPANSION, max_depth: int = MAX_DEPTH) -> list[Any]:
    """Every document of ``text``, like ``list(yaml.safe_load_all(text))``, each within the limits above."""
    loader = _Loader(text)
    try:
        docs = []
        while True:
            try:
                if not loader.check_node():
                    break
                node = loader.get_node()
            except (RecursionError, yaml.YAMLError) as err:
                raise _parse_error(err, max_depth) from None
            _check(node, max_alias_expansion, max_depth)
            docs.append(loader.construct_document(node))
        return docs
    finally:
        loader.dispose()
