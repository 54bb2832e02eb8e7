"""A small HTML tree for the view tests, built with the standard library's `html.parser`.

Pages are checked the way a browser (or htmx) would see them: what element holds what, which element carries
`hx-swap-oob`, which label names which field. `page(response)` gives the tree of a response; each folder's helpers add
what only its pages need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

HTMX = {"HX-Request": "true"}
HTMX_BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}

VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    def __repr__(self):
        return f"<{self.tag} {self.attrs}>"

    @property
    def text(self) -> str:
        """The visible text inside, whitespace collapsed."""
        parts = [child if isinstance(child, str) else child.text for child in self.children]
        return " ".join(" ".join(parts).split())

    def iter(self):
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs) -> list[Element]:
        """Descendants with `tag` (any when None) whose attributes equal `attrs` (`data_testid` is `data-testid`;
        `class_` matches one of the classes)."""
        wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
        found = []
        for element in self.iter():
            if tag is not None and element.tag != tag:
                continue
            if all(_attr_matches(element, name, value) for name, value in wanted.items()):
                found.append(element)
        return found

    def find(self, tag: str | None = None, **attrs) -> Element | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def one(self, tag: str | None = None, **attrs) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected exactly one {tag or 'element'} {attrs}, found {len(found)}"
        return found[0]

    def by_id(self, element_id: str) -> Element | None:
        return self.find(id=element_id)

    def by_testid(self, testid: str) -> Element | None:
        return self.find(data_testid=testid)

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def top_level(self) -> list[Element]:
        return [child for child in self.children if isinstance(child, Element)]


def _attr_matches(element: Element, name: str, value: str) -> bool:
    if name == "class":
        return value in element.attrs.get("class", "").split()
    return element.attrs.get(name) == value


class _TreeBuilder(HTMLParser):
    def __init__(self, element_type: type[Element]):
        super().__init__(convert_charrefs=True)
        self.element_type = element_type
        self.root = element_type("#document", {})
        self.current = self.root

    def _element(self, tag, attrs) -> Element:
        element = self.element_type(tag, {name: value or "" for name, value in attrs}, parent=self.current)
        self.current.children.append(element)
        return element

    def handle_starttag(self, tag, attrs):
        element = self._element(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self._element(tag, attrs)

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        if data.strip():
            self.current.children.append(data)


def parse(html: str | bytes, element_type: type[Element] = Element) -> Element:
    """The tree of `html`, its elements of `element_type` (a subclass may look elements up its own way)."""
    if isinstance(html, bytes):
        html = html.decode()
    builder = _TreeBuilder(element_type)
    builder.feed(html)
    builder.close()
    return builder.root


def page(response, element_type: type[Element] = Element) -> Element:
    """The response's HTML as a tree."""
    return parse(response.content, element_type)
