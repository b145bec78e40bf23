"""From a citizen's words to the knowledge base's topics, with a confidence.

The index is field-weighted (title and keywords above examples, examples
above the article), counts stemmed words and word pairs (a phrase weighs more
than its words apart), expands misspelt words to the closest word of the
index, and abstains when the best topic is not convincing. It is built once
per knowledge-base revision and shared by the process.
"""

import math
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from routing.text import analyse, content_words, stem

FIELD_WEIGHTS = {"title": 3.0, "keywords": 3.0, "examples": 1.5, "parent": 0.6, "article": 1.0}
PAIR_BOOST = 1.5  # a pair of consecutive words found together
SATURATION = 3.0  # how fast repeated evidence for one term stops adding up
FUZZY_CUTOFF = 84  # rapidfuzz ratio for a misspelt word to count as a known one
FUZZY_MIN_LENGTH = 4
MIN_SCORE = 3.0
MIN_COVERAGE = 0.08
MAX_QUERY_TERMS = 400
MIN_IDF = 0.2
LENGTH_B = 0.75  # BM25's b
ELISIONS = ("qu", "l", "d", "j", "n", "s", "m", "t", "c")


@dataclass
class TopicDoc:
    id: int
    slug: str
    organisation: str
    title: str
    keywords: list = field(default_factory=list)
    examples: list = field(default_factory=list)
    article: str = ""
    urgent: bool = False
    parent: str | None = None
    services: list = field(default_factory=list)


@dataclass
class Candidate:
    doc: TopicDoc
    score: float
    confidence: float


@dataclass
class MatchResult:
    candidates: list
    abstained: bool
    reason: str = ""

    @property
    def best(self):
        return None if self.abstained or not self.candidates else self.candidates[0]


def terms(text):
    """Stems and consecutive stem pairs of a text."""
    stems = analyse(text)
    return stems, [f"{a}_{b}" for a, b in zip(stems, stems[1:], strict=False)]


class Matcher:
    def __init__(self, docs, postings, idf, vocabulary):
        self.docs = docs
        self.postings = postings  # term -> [(doc index, weight)]
        self.idf = idf
        self.vocabulary = vocabulary  # folded word -> stem, for fuzzy expansion
        # Misspellings rarely change the first letter: compare within it.
        self._vocab_by_initial = defaultdict(list)
        for word in vocabulary:
            self._vocab_by_initial[word[0]].append(word)
        self._fuzzy_cache = {}
        self._lock = threading.Lock()

    @classmethod
    def build(cls, docs):
        docs = list(docs)
        by_key = {(d.organisation, d.slug): d for d in docs}
        weights = [defaultdict(float) for _ in docs]
        vocabulary = {}
        for index, doc in enumerate(docs):
            parent = by_key.get((doc.organisation, doc.parent)) if doc.parent else None
            fields = {
                "title": [doc.title],
                "keywords": list(doc.keywords),
                "examples": list(doc.examples),
                "article": [doc.article],
                "parent": [parent.title, *parent.keywords] if parent else [],
            }
            for name, texts in fields.items():
                for text in texts:
                    for word in content_words(text):
                        vocabulary.setdefault(word, stem(word))
                    stems, pairs = terms(text)
                    for term in stems:
                        weights[index][term] += FIELD_WEIGHTS[name]
                    for term in pairs:
                        weights[index][term] += FIELD_WEIGHTS[name] * PAIR_BOOST
        # BM25 length normalisation: a topic with a long article and many
        # examples holds more words, each of which says less about it.
        lengths = [sum(w for t, w in dw.items() if "_" not in t) for dw in weights]
        average = (sum(lengths) / len(lengths)) if lengths else 1.0
        postings = defaultdict(list)
        for index, doc_weights in enumerate(weights):
            norm = SATURATION * (1 - LENGTH_B + LENGTH_B * lengths[index] / (average or 1.0))
            for term, weight in doc_weights.items():
                postings[term].append((index, weight * (1 + SATURATION) / (weight + norm)))
        n = max(len(docs), 1)
        idf = {term: math.log(1 + (n - len(items) + 0.5) / (len(items) + 0.5)) for term, items in postings.items()}
        return cls(docs, dict(postings), idf, vocabulary)

    def _expand(self, word):
        """A misspelt word as the closest word of the index, or None."""
        if word in self.vocabulary:
            return self.vocabulary[word]
        for prefix in ELISIONS:  # "ladresse", "dun", "quon": an elision typed without apostrophe
            rest = word[len(prefix) :]
            if word.startswith(prefix) and len(rest) > 2 and rest in self.vocabulary:
                return self.vocabulary[rest]
        if len(word) < FUZZY_MIN_LENGTH or word.isdigit():
            return None
        with self._lock:
            if word in self._fuzzy_cache:
                return self._fuzzy_cache[word]
        found = process.extractOne(
            word, self._vocab_by_initial.get(word[0], ()), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF
        )
        result = self.vocabulary[found[0]] if found else None
        with self._lock:
            self._fuzzy_cache[word] = result
        return result

    def query_terms(self, text):
        stems = []
        for word in content_words(text)[: MAX_QUERY_TERMS * 4]:
            term = stem(word)
            if term not in self.postings:
                term = self._expand(word) or term
            stems.append(term)
        stems = stems[:MAX_QUERY_TERMS]
        pairs = [f"{a}_{b}" for a, b in zip(stems, stems[1:], strict=False)]
        return stems, pairs

    def match(self, subject, text, organisations=None, limit=5):
        stems, pairs = self.query_terms(f"{subject or ''}\n{text or ''}")
        if not stems:
            return MatchResult([], True, "no informative word")
        query = {}
        for term in stems:
            query[term] = 1.0
        for term in pairs:
            if term in self.postings:
                query[term] = PAIR_BOOST
        scores = defaultdict(float)
        known_weight = 0.0
        total_weight = 0.0
        for term, boost in query.items():
            idf = self.idf.get(term)
            if idf is None:
                total_weight += boost * 2.0  # an unknown word is informative too
                continue
            total_weight += boost * idf
            known_weight += boost * idf
            if idf < MIN_IDF:
                continue  # in most topics: it tells them apart no more than it costs
            for index, weight in self.postings[term]:
                scores[index] += boost * idf * weight
        if organisations:
            allowed = set(organisations)
            scores = {i: s for i, s in scores.items() if self.docs[i].organisation in allowed}
        scores = {index: score for index, score in scores.items() if score > 0}
        if not scores:
            return MatchResult([], True, "no word of the knowledge base")
        ranked = sorted(scores.items(), key=lambda item: (-item[1], self.docs[item[0]].slug))[:limit]
        top = ranked[0][1]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        coverage = top / total_weight if total_weight else 0.0
        margin = (top - second) / top if top else 0.0
        candidates = [
            Candidate(self.docs[index], score, _confidence(score, coverage * score / top, margin if i == 0 else 0.0))
            for i, (index, score) in enumerate(ranked)
        ]
        if top < MIN_SCORE:
            return MatchResult(candidates, True, f"best score {top:.2f} below {MIN_SCORE}")
        if coverage < MIN_COVERAGE:
            return MatchResult(candidates, True, f"the best topic explains {coverage:.0%} of the message")
        return MatchResult(candidates, False, "")


def _confidence(score, coverage, margin):
    strength = 1 - math.exp(-score / 4)
    return round(max(0.0, min(1.0, 0.5 * strength + 0.3 * min(coverage * 2, 1) + 0.2 * margin)), 4)


def docs_from_db():
    from kb.models import Topic

    docs = []
    topics = Topic.objects.select_related("organisation", "parent").prefetch_related(
        "service_links__service__organisation"
    )
    for topic in topics:
        docs.append(
            TopicDoc(
                id=topic.pk,
                slug=topic.slug,
                organisation=topic.organisation.slug,
                title=topic.title,
                keywords=list(topic.keywords),
                examples=list(topic.examples),
                article=topic.article,
                urgent=topic.urgent,
                parent=topic.parent.slug if topic.parent else None,
                services=[
                    f"{link.service.organisation.slug}/{link.service.slug}" for link in topic.service_links.all()
                ],
            )
        )
    return docs


_cache = {"revision": None, "matcher": None}
_cache_lock = threading.Lock()


def get_matcher():
    """The process's matcher for the current knowledge-base revision."""
    from kb.revision import current

    revision = current()
    with _cache_lock:
        if _cache["revision"] != revision or _cache["matcher"] is None:
            _cache["matcher"] = Matcher.build(docs_from_db())
            _cache["revision"] = revision
        return _cache["matcher"]


def reset_cache():
    with _cache_lock:
        _cache.update(revision=None, matcher=None)
