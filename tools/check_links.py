"""Check the links inside a built HTML site, without the internet.

::

    python tools/check_links.py docs/_build/html

Every ``href`` and ``src`` of every ``.html`` page that points inside the
site (a relative URL) must name an existing file, and its ``#anchor`` an
``id`` (or ``<a name>``) on the target page. External URLs (``http:``,
``https:``, ``mailto:``, ...) are not fetched. Prints each broken link with
the page it is on; exits 1 if there is any.
"""

import os
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    """The links and the anchors of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.anchors = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.anchors.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.anchors.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and attrs.get("rel") == "preconnect"):
                self.links.append(attrs[key])


def _parse(path, cache):
    if path not in cache:
        page = _Page()
        with open(path, encoding="utf-8", errors="replace") as f:
            page.feed(f.read())
        cache[path] = page
    return cache[path]


def broken_links(root):
    """``(page, link, reason)`` for every broken link inside the site at ``root``."""
    root = os.path.abspath(root)
    cache, broken, n_links = {}, [], 0
    for folder, subfolders, files in os.walk(root):
        if folder == root and "_static" in subfolders:  # the theme's assets (templates among them), no pages
            subfolders.remove("_static")
        for name in sorted(files):
            if not name.endswith(".html"):
                continue
            page_path = os.path.join(folder, name)
            for link in _parse(page_path, cache).links:
                parts = urlsplit(link)
                if parts.scheme or parts.netloc or link.startswith(("//", "javascript:")):
                    continue  # external: not checked
                n_links += 1
                target = page_path if not parts.path else os.path.normpath(
                    os.path.join(folder, unquote(parts.path)))
                if os.path.isdir(target):
                    target = os.path.join(target, "index.html")
                rel = os.path.relpath(page_path, root)
                if not target.startswith(root + os.sep):
                    broken.append((rel, link, "points outside the site"))
                elif not os.path.isfile(target):
                    broken.append((rel, link, "no such file"))
                elif parts.fragment and target.endswith(".html"):
                    if unquote(parts.fragment) not in _parse(target, cache).anchors:
                        broken.append((rel, link, "no such anchor"))
    return broken, len(cache), n_links


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not os.path.isdir(argv[0]):
        print(__doc__)
        return 2
    broken, n_pages, n_links = broken_links(argv[0])
    for page, link, reason in broken:
        print(f"{page}: {link}: {reason}")
    print(f"check_links: {n_links} links inside the site on {n_pages} pages, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
