"""YAML from an archive, read so that no file can take the machine or bypass the project's own parsers.

PyYAML's safe loader still expands aliases (a "billion laughs" file of nested anchors grows to gigabytes),
composes nested collections recursively (5000 nested `[` end in a RecursionError), and turns an unquoted
`2024-02-30` into a date before the project sees it (raising on an impossible one). This loader refuses
aliases, bounds the nesting depth, and keeps every scalar that looks like a timestamp as text, so dates are
parsed by `values.parse_date` and a bad one is a problem with its line and key.
"""

from __future__ import annotations

import yaml
from yaml.events import AliasEvent

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class YamlRefused(ValueError):
    def __init__(self, message: str, line: int | None, found: str):
        self.message, self.line, self.found = message, line, found
        super().__init__(message)


class _ArchiveLoader(yaml.SafeLoader):
    max_depth = 20

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise YamlRefused("YAML aliases (*name) are not accepted", event.start_mark.line + 1,
                              f"*{event.anchor}")
        self._depth += 1
        if self._depth > self.max_depth:
            mark = self.peek_event().start_mark
            raise YamlRefused("the YAML is nested too deeply", mark.line + 1, f"more than {self.max_depth} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_ArchiveLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_archive_yaml(text: str, max_depth: int = 20) -> tuple[object, dict[str, int]]:
    """(data, line of each top-level key's value). Raises YamlRefused or yaml.YAMLError."""
    loader = _ArchiveLoader(text)
    loader.max_depth = max_depth
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines = {}
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    lines[str(key.value)] = value.start_mark.line + 1
        return loader.construct_document(node), lines
    finally:
        loader.dispose()
