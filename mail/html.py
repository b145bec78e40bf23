"""HTML bodies: a sanitised copy safe to show agents, and readable text.

``sanitise_html`` keeps formatting (text styles, tables, lists, links,
images) and removes everything active: scripts, styles sheets, frames,
objects, forms, event handlers, ``javascript:`` and other unknown URL
schemes. Remote images are not loaded: ``<img src="https://...">``
becomes ``<img data-remote-src="https://...">`` so the inbox can offer
"show images" without the sender learning the message was opened. Inline
images keep ``src="cid:<content-id>"``; the parsed message lists those
ids (``ParsedEmail.inline_images``) so the view can point each one at the
stored attachment.
"""

import re
from html import unescape
from html.parser import HTMLParser

import nh3

ALLOWED_TAGS = (set(nh3.ALLOWED_TAGS) | {"font", "tfoot"}) - {"map", "area"}
ALLOWED_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
ALLOWED_ATTRIBUTES["*"] = {"style", "title", "dir", "lang", "align"}
ALLOWED_ATTRIBUTES["img"] = {"src", "alt", "width", "height", "align", "title"}
ALLOWED_ATTRIBUTES["td"] = ALLOWED_ATTRIBUTES.get("td", set()) | {"width", "valign", "bgcolor"}
ALLOWED_ATTRIBUTES["table"] = ALLOWED_ATTRIBUTES.get("table", set()) | {"width", "border", "cellpadding", "cellspacing"}
ALLOWED_ATTRIBUTES["font"] = {"color", "size", "face"}
ALLOWED_ATTRIBUTES.pop("a", None)
ALLOWED_ATTRIBUTES["a"] = {"href", "hreflang", "title"}
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}
STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "vertical-align",
    "line-height",
    "letter-spacing",
    "white-space",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border",
    "border-top",
    "border-bottom",
    "border-left",
    "border-right",
    "border-color",
    "border-style",
    "border-width",
    "border-collapse",
    "width",
    "height",
    "max-width",
    "list-style-type",
}
LINK_REL = "noopener noreferrer nofollow"
DATA_IMAGE = re.compile(r"^data:image/(png|jpe?g|gif|webp|bmp);base64,", re.IGNORECASE)
REMOTE_IMG_SRC = re.compile(r'(<img\b[^>]*?\s)src="((?:https?:)?//[^"]*)"', re.IGNORECASE)


def _attribute_filter(tag, attribute, value):
    if attribute in {"href", "src"}:
        lowered = value.strip().lower()
        if lowered.startswith("data:"):
            return value if tag == "img" and attribute == "src" and DATA_IMAGE.match(lowered) else None
        if lowered.startswith("cid:") and not (tag == "img" and attribute == "src"):
            return None
    return value


def sanitise_html(html):
    """Sanitised HTML (see the module docstring); "" for empty input."""
    if not html or not html.strip():
        return ""
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "title", "head", "noscript", "template", "xmp"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        link_rel=LINK_REL,
        url_schemes=URL_SCHEMES,
        filter_style_properties=STYLE_PROPERTIES,
        url_relative="deny",
        strip_comments=True,
    )
    return REMOTE_IMG_SRC.sub(r'\1data-remote-src="\2"', cleaned).strip()


# --- HTML to text -----------------------------------------------------------

BLOCK_TAGS = {
    "address",
    "article",
    "aside",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tr",
    "ul",
}
SKIP_TAGS = {"script", "style", "head", "title", "noscript", "template", "xmp", "object", "iframe"}
VOID_TAGS = {"br", "hr", "img", "input", "meta", "link", "col", "area", "base", "wbr", "source", "track", "param"}
QUOTE_OPEN = "\ue000"
QUOTE_CLOSE = "\ue001"
_SPACES = re.compile(r"[ \t\r\n\f\u200b]+")


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.skip = 0
        self.pre = 0
        self.links = []  # (href, position in out where the link text starts)
        self.lists = []  # "ul" or a counter for "ol"

    def newline(self, count=1):
        self.out.append("\n" * count)

    def handle_starttag(self, tag, attrs):
        if tag in SKIP_TAGS:
            self.skip += 1
            return
        if self.skip:
            return
        attrs = dict(attrs)
        if tag == "br":
            self.newline()
        elif tag == "p" or tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.newline(2)
        elif tag == "blockquote":
            self.newline()
            self.out.append(QUOTE_OPEN)
        elif tag in {"ul", "ol"}:
            self.lists.append("ul" if tag == "ul" else 0)
            self.newline()
        elif tag == "li":
            self.newline()
            indent = "  " * max(0, len(self.lists) - 1)
            if self.lists and self.lists[-1] != "ul":
                self.lists[-1] += 1
                self.out.append(f"{indent}{self.lists[-1]}. ")
            else:
                self.out.append(f"{indent}- ")
        elif tag in {"td", "th"}:
            self.out.append(" ")
        elif tag == "hr":
            self.newline()
            self.out.append("---")
            self.newline()
        elif tag == "pre":
            self.newline()
            self.pre += 1
        elif tag in BLOCK_TAGS:
            self.newline()
        elif tag == "a":
            self.links.append((attrs.get("href") or "", len(self.out)))
        elif tag == "img":
            alt = (attrs.get("alt") or "").strip()
            if alt:
                self.out.append(f"[{alt}]")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag == "blockquote":
            self.out.append(QUOTE_CLOSE)
            self.newline()
        elif tag in {"ul", "ol"}:
            if self.lists:
                self.lists.pop()
            self.newline()
        elif tag == "p" or tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.newline(2)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self.newline()
        elif tag in BLOCK_TAGS:
            self.newline()
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.out[start:]).strip()
            target = href.strip()
            shown = target[7:] if target.lower().startswith("mailto:") else target
            if target and target.lower().startswith(("http:", "https:", "mailto:")) and shown not in label:
                self.out.append(f" ({shown})" if label else shown)

    def handle_data(self, data):
        if self.skip:
            return
        if self.pre:
            self.out.append(data)
        else:
            self.out.append(_SPACES.sub(" ", data))


def html_to_text(html):
    """Readable plain text for an HTML body: paragraphs and line breaks kept,
    lists as "- item" / "1. item", links as "text (url)", blockquotes as
    "> " quoted lines (so quote stripping works on HTML-only mail)."""
    if not html or not html.strip():
        return ""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; be safe anyway
        return _fallback_text(html)
    return _finish("".join(parser.out))


def _finish(text):
    depth = 0
    lines = []
    for raw_line in text.split("\n"):
        prefix_depth = depth
        depth += raw_line.count(QUOTE_OPEN) - raw_line.count(QUOTE_CLOSE)
        depth = max(depth, 0)
        prefix_depth = max(prefix_depth, depth) if QUOTE_OPEN in raw_line else prefix_depth
        line = raw_line.replace(QUOTE_OPEN, "").replace(QUOTE_CLOSE, "").replace("\xa0", " ")
        line = line.strip(" ")
        if prefix_depth:
            line = ("> " * prefix_depth + line).rstrip()
        lines.append(line)
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n").strip()


def _fallback_text(html):
    text = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", html)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    text = re.sub(r"<[^>]+>", " ", text)
    return _finish(unescape(text))
