"""The one loader for YAML that users write (manifest artifacts, ``#readYaml``, Jenkins property files).

``yaml.safe_load`` refuses Python objects but not a "billion laughs" document: nine anchors of ten
aliases each expand to 10**9 values once anything walks the result. This loader counts, while it
composes, how many nodes aliases add (each alias adds the full size of what it names) and stops at
``MAX_ALIAS_EXPANSION``; it also refuses recursive aliases and nesting deeper than ``MAX_DEPTH``
(the composer recurses). Ordinary documents with a few anchors and merge keys load as before.
Pure Python, no I/O: usable inside Temporal workflow code.
"""

from __future__ import annotations

from typing import Any

import yaml

#: nodes that aliases may add to one document (the document's own nodes are bounded by its size).
MAX_ALIAS_EXPANSION = 100_000
#: deepest nesting of sequences and mappings.
MAX_DEPTH = 200


class YamlLimitError(yaml.YAMLError):
    """The document exceeds one of this module's limits; the message names the limit."""


class _Loader(yaml.SafeLoader):
    """``SafeLoader`` that sizes every composed node, counting what aliases add."""

    def __init__(self, stream: str, max_alias_expansion: int, max_depth: int) -> None:
        super().__init__(stream)
        self.max_alias_expansion = max_alias_expansion
        self.max_depth = max_depth
        self._sizes: dict[int, int] = {}  # id(node) -> its size with aliases expanded
        self._expanded = 0
        self._depth = 0

    def compose_document(self) -> Any:
        self._sizes, self._expanded, self._depth = {}, 0, 0
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            target = self.anchors.get(self.peek_event().anchor)
            if target is not None:
                size = self._sizes.get(id(target))
                if size is None:
                    raise YamlLimitError(f"YAML alias *{self.peek_event().anchor} refers to itself (recursive alias)")
                self._expanded += size
                if self._expanded > self.max_alias_expansion:
                    raise YamlLimitError(
                        f"YAML document expands to more than {self.max_alias_expansion} extra nodes through aliases "
                        "(the alias expansion limit); refused"
                    )
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > self.max_depth:
            raise YamlLimitError(f"YAML is nested more than {self.max_depth} levels deep (the nesting limit)")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[id(node)] = self._size(node)
        return node

    def _size(self, node: Any) -> int:
        sizes = self._sizes
        if isinstance(node, yaml.SequenceNode):
            return 1 + sum(sizes.get(id(child), 1) for child in node.value)
        if isinstance(node, yaml.MappingNode):
            return 1 + sum(sizes.get(id(k), 1) + sizes.get(id(v), 1) for k, v in node.value)
        return 1


def load(text: str, *, max_alias_expansion: int = MAX_ALIAS_EXPANSION, max_depth: int = MAX_DEPTH) -> Any:
    """The first (only) document of ``text``, like ``yaml.safe_load``, within the limits above."""
    loader = _Loader(text, max_alias_expansion, max_depth)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_all(text: str, *, max_alias_expansion: int = MAX_ALIAS_EXPANSION, max_depth: int = MAX_DEPTH) -> list[Any]:
    """Every document of ``text``, like ``list(yaml.safe_load_all(text))``, each within the limits above."""
    loader = _Loader(text, max_alias_expansion, max_depth)
    try:
        docs = []
        while loader.check_data():
            docs.append(loader.get_data())
        return docs
    finally:
        loader.dispose()
