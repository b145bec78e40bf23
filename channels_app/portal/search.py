"""Search-as-you-type over the knowledge base's topics.

Two signals, merged: the router's matcher (French stemming, phrases,
examples and articles) and a fuzzy match of the typed letters against each
topic's title and keywords (prefixes while typing, misspellings). The fuzzy
index is built once per knowledge-base revision, like the matcher's.
"""

import functools
import threading
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from routing.text import fold

MIN_QUERY = 2
FUZZY_CUTOFF = 75
MAX_QUERY_CHARS = 200


@dataclass
class Hit:
    topic_id: int
    slug: str
    organisation: str
    title: str
    score: float


_cache = {"revision": None, "index": None}
_lock = threading.Lock()


def _labels():
    from kb.models import Topic

    rows = Topic.objects.values_list("pk", "slug", "organisation__slug", "title", "keywords")
    entries = []
    for pk, slug, organisation, title, keywords in rows:
        entries.append((pk, slug, organisation, title, fold(title)))
        for keyword in keywords or ():
            entries.append((pk, slug, organisation, title, fold(str(keyword))))
    return entries


def _index():
    from kb.revision import current

    revision = current()
    with _lock:
        if _cache["revision"] != revision or _cache["index"] is None:
            entries = _labels()
            _cache["index"] = (entries, [entry[4] for entry in entries])
            _cache["revision"] = revision
        return _cache["index"]


def reset_cache():
    with _lock:
        _cache.update(revision=None, index=None)
    _search.cache_clear()


def search_topics(query, limit=8):
    """The topics best matching what the citizen typed, best first."""
    from kb.revision import current

    query = " ".join((query or "").split())[:MAX_QUERY_CHARS]
    if len(fold(query).replace(" ", "")) < MIN_QUERY:
        return []
    # Typing repeats itself (the same first letters, the same common
    # problems): answers are kept per knowledge-base revision.
    return list(_search(current(), query, limit))


@functools.lru_cache(maxsize=4096)
def _search(revision, query, limit):
    from routing.matcher import get_matcher

    folded = fold(query)
    scores = {}
    entries, labels = _index()
    for _label, score, position in process.extract(
        folded, labels, scorer=fuzz.partial_ratio, limit=limit * 3, score_cutoff=FUZZY_CUTOFF
    ):
        pk, slug, organisation, title, _ = entries[position]
        # The closer the lengths, the more the label is what was typed: an
        # exact keyword beats a long title that merely contains the word.
        size = len(labels[position])
        closeness = min(size, len(folded)) / max(size, len(folded), 1)
        value = score / 100 * (0.7 + 0.3 * closeness)
        if value > scores.get(pk, (0,))[0]:
            scores[pk] = (value, slug, organisation, title)
    result = get_matcher().match(query, "", limit=limit)
    if result.candidates:
        top = result.candidates[0].score or 1.0
        for candidate in result.candidates:
            doc = candidate.doc
            value = 0.5 + 0.5 * candidate.score / top
            if value > scores.get(doc.id, (0,))[0]:
                scores[doc.id] = (value, doc.slug, doc.organisation, doc.title)
    ranked = sorted(scores.items(), key=lambda item: (-item[1][0], item[1][3]))[:limit]
    return tuple(
        Hit(pk, slug, organisation, title, round(value, 3)) for pk, (value, slug, organisation, title) in ranked
    )
