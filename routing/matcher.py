"""From a citizen's words to the knowledge base's topics, with a confidence.

The index is a BM25F over stemmed words and word pairs: each field of a
topic (title, keywords, examples, article, the parent topic's words, the
description of its services) weighs its own share, a pair of consecutive
words found together scores on top of its two words (a phrase weighs more
than its words apart), and a term's weight saturates, so that one word said
many times does not drown the others. A word's rarity (idf) counts the
topics that say it themselves, not those that inherit it from a parent or
from their services' descriptions.

A word also brings, at a lower weight, the other words of its family found
in the index (the same first letters of the stem: "inscrit" brings
"inscription"). When the urgency lexicon recognises a danger in the message,
the plain words that name it ("expulsion", "violences conjugales") join the
query, and urgent topics weigh more; a message with no sign of danger makes
urgent topics weigh less.

A word of the message that the index does not know is guessed: an elision
typed without its apostrophe ("laccueil"), a misspelling (rapidfuzz, within
the same first letter), or another form of an indexed word (a long common
prefix: "inscrire" and "inscription"). A guess weighs less than the word
written as indexed.

The matcher abstains, rather than give a wrong topic with false
confidence, when the best topic's evidence is weaker than one distinctive
word found in a strong field, when it explains too little of what the
message says, or when it rests on a single word ("test", "versement": one
word is too little to name a problem) — unless that word is backed by a
danger the lexicon recognised and the urgent topic names.

The index is built once per knowledge-base revision and shared by the
process (`get_matcher`).
"""

import heapq
import math
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from operator import itemgetter

from rapidfuzz import fuzz, process

from routing.text import content_words, stem
from routing.urgency import CONCEPTS, detect_urgency

# BM25F: the share of each field, and how much its length dampens it.
FIELD_WEIGHTS = {
    "title": 3.0,
    "keywords": 3.0,
    "examples": 1.5,
    "article": 0.6,
    "parent": 0.8,
    "services": 0.5,
}
OWN_FIELDS = ("title", "keywords", "examples", "article")  # what a topic says itself (not inherited)
FIELD_B = {"title": 0.3, "keywords": 0.3, "examples": 0.5, "article": 0.75, "parent": 0.3, "services": 0.5}
K1 = 2.0  # BM25's saturation: how fast repeated evidence for one term stops adding up
PAIR_WEIGHT = 1.0  # a pair of consecutive words scores this much on top of its two words
FAMILY_LENGTH = 6  # stems sharing this many first letters are one word family
FAMILY_WEIGHT = 0.3  # a word of the same family counts this much (on top of the exact word)
CONCEPT_WEIGHT = 0.3  # a word naming an urgent situation the message describes
URGENT_AGREEMENT = 1.4  # an urgent topic's score, times this with signs of danger, divided without
MIN_IDF = 0.15  # a term in most topics tells them apart no more than it costs

# Guesses for words the index does not know.
FUZZY_CUTOFF = 84  # rapidfuzz ratio for a misspelt word to count as a known one
FUZZY_MIN_LENGTH = 5  # shorter words have too many close neighbours
FUZZY_WEIGHT = 0.7  # a word guessed from a misspelling counts this much
PREFIX_MIN = 5  # another form of a word: at least this many letters in common...
PREFIX_SHARE = 0.7  # ...and this share of the shorter stem
PREFIX_WEIGHT = 0.5  # another form of an indexed word counts this much
ELISIONS = ("qu", "l", "d", "j", "n", "s", "m", "t", "c")

# Abstention. Scores are in units of idf: one distinctive word found in a
# title scores about its idf times the saturation of a strong field (~0.7).
MIN_EVIDENCE = 0.4  # the best score, as a share of the median idf of the index's words
MIN_COVERAGE = 0.04  # the share of the message's information the best topic must explain
MIN_SHARED_TERMS = 2  # distinct informative words the best topic must share with the message
UNKNOWN_IDF_SHARE = 0.5  # an unknown word carries this share of the largest idf
MAX_QUERY_WORDS = 400
MAX_QUERY_CHARS = 20_000  # a 1 MB message is read as its beginning


@dataclass
class TopicDoc:
    """A topic as the matcher sees it: plain data, no database."""

    id: int
    slug: str
    organisation: str
    title: str
    keywords: list = field(default_factory=list)
    examples: list = field(default_factory=list)
    article: str = ""
    urgent: bool = False
    parent: str | None = None
    services: list = field(default_factory=list)  # "org/service", best first
    service_text: str = ""  # names and descriptions of the candidate services
    sensitive: bool = False
    priority: str = "normal"

    @property
    def key(self):
        return f"{self.organisation}/{self.slug}"


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


def _pairs(stems):
    return [f"{a}_{b}" for a, b in zip(stems, stems[1:], strict=False)]


def _family(term):
    """The word family of a stem: its first letters ("inscri" for inscrire,
    inscrit, inscription), or None for a short stem."""
    return f"@{term[:FAMILY_LENGTH]}" if len(term) >= FAMILY_LENGTH and "_" not in term else None


def _field_texts(doc, parent):
    return {
        "title": [doc.title or ""],
        "keywords": [str(k) for k in doc.keywords or ()],
        "examples": [str(e) for e in doc.examples or ()],
        "article": [doc.article or ""],
        "parent": [parent.title, *map(str, parent.keywords or ())] if parent else [],
        "services": [doc.service_text or ""],
    }


class Matcher:
    def __init__(self, docs, postings, idf, vocabulary, doc_terms):
        self.docs = docs
        self.postings = postings  # term -> [(doc index, saturated weight in 0..1)]
        self.idf = idf
        self.vocabulary = vocabulary  # folded word -> stem, for misspellings
        self.doc_terms = doc_terms  # doc index -> frozenset of its unigram stems
        self._urgent = [i for i, d in enumerate(docs) if d.urgent]
        self._family_members = defaultdict(list)  # word family -> the index's stems of that family
        for term in postings:
            family = _family(term)
            if family:
                self._family_members[family].append(term)
        self._by_initial = defaultdict(list)
        for word in vocabulary:
            self._by_initial[word[0]].append(word)
        self._stems_by_prefix = defaultdict(list)
        for term in postings:
            if "_" not in term and len(term) >= PREFIX_MIN:
                self._stems_by_prefix[term[:PREFIX_MIN]].append(term)
        unigram_idf = sorted(v for t, v in idf.items() if "_" not in t)
        self.median_idf = unigram_idf[len(unigram_idf) // 2] if unigram_idf else 1.0
        self.max_idf = unigram_idf[-1] if unigram_idf else 1.0
        self._guess_cache = {}
        self._lock = threading.Lock()

    @classmethod
    def build(cls, docs):
        docs = list(docs)
        by_key = {(d.organisation, d.slug): d for d in docs}
        # Per field: term frequencies of each document, and its length.
        tfs = {name: [] for name in FIELD_WEIGHTS}
        lengths = {name: [] for name in FIELD_WEIGHTS}
        vocabulary = {}
        for doc in docs:
            parent = by_key.get((doc.organisation, doc.parent)) if doc.parent else None
            for name, texts in _field_texts(doc, parent).items():
                counts = Counter()
                length = 0
                for text in texts:
                    words = content_words(text)
                    stems = []
                    for word in words:
                        term = stem(word)
                        vocabulary.setdefault(word, term)
                        stems.append(term)
                    counts.update(stems)
                    counts.update(_pairs(stems))
                    length += len(stems)
                tfs[name].append(counts)
                lengths[name].append(length)
        averages = {}
        for name, values in lengths.items():
            present = [v for v in values if v]
            averages[name] = (sum(present) / len(present)) if present else 1.0
        postings = defaultdict(list)
        doc_terms = []
        for index in range(len(docs)):
            combined = defaultdict(float)
            for name, weight in FIELD_WEIGHTS.items():
                counts = tfs[name][index]
                if not counts or weight <= 0:
                    continue
                b = FIELD_B[name]
                norm = 1 - b + b * lengths[name][index] / (averages[name] or 1.0)
                for term, count in counts.items():
                    combined[term] += weight * count / (norm or 1.0)
            for term, tf in combined.items():
                postings[term].append((index, tf / (K1 + tf)))
            doc_terms.append(frozenset(t for t in combined if "_" not in t))
        # A word's rarity counts the topics that say it themselves: words a
        # topic inherits (its parent's, its services' descriptions) would
        # otherwise make the words of a whole branch look common.
        own = Counter()
        for index in range(len(docs)):
            own.update({t for name in OWN_FIELDS for t in tfs[name][index]})
        n = max(len(docs), 1)
        idf = {}
        for term, items in postings.items():
            df = own.get(term) or len(items)
            idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return cls(docs, dict(postings), idf, vocabulary, doc_terms)

    # -- the message's terms ------------------------------------------------

    def _guess(self, word):
        """(stem, weight) for a word the index does not know as written, or None."""
        with self._lock:
            if word in self._guess_cache:
                return self._guess_cache[word]
        result = self._compute_guess(word)
        with self._lock:
            if len(self._guess_cache) > 200_000:
                self._guess_cache.clear()
            self._guess_cache[word] = result
        return result

    def _compute_guess(self, word):
        if word.isdigit():
            return None
        # An elision typed without its apostrophe: "laccueil", "dun", "quil".
        for prefix in ELISIONS:
            rest = word[len(prefix) :]
            if word.startswith(prefix) and len(rest) >= 3 and rest[0] in "aeiouyh":
                term = stem(rest)
                if term in self.postings:
                    return term, 1.0
        # Another form of an indexed word: a long common prefix of stems.
        term = stem(word)
        if len(term) >= PREFIX_MIN:
            best, best_len = None, 0
            for other in self._stems_by_prefix.get(term[:PREFIX_MIN], ()):
                common = _common_prefix(term, other)
                if common >= max(PREFIX_MIN, PREFIX_SHARE * min(len(term), len(other))) and common > best_len:
                    best, best_len = other, common
            if best:
                return best, PREFIX_WEIGHT
        # A misspelling: the closest indexed word with the same first letter.
        if len(word) >= FUZZY_MIN_LENGTH:
            cutoff = FUZZY_CUTOFF if len(word) >= 8 else 88  # one edit is a larger share of a short word
            found = process.extractOne(word, self._by_initial.get(word[0], ()), scorer=fuzz.ratio, score_cutoff=cutoff)
            if found:
                return self.vocabulary[found[0]], FUZZY_WEIGHT * found[1] / 100
        return None

    def query_terms(self, text):
        """The message's stems (guessed where misspelt), and their pairs."""
        stems, _ = self._query_terms(text)
        return stems, _pairs(stems)

    def _query_terms(self, text):
        stems, weights = [], {}
        for word in content_words(text)[:MAX_QUERY_WORDS]:
            term = stem(word)
            weight = 1.0
            if term not in self.postings:
                guess = self._guess(word)
                if guess:
                    term, weight = guess
            stems.append(term)
            weights[term] = max(weights.get(term, 0.0), weight)
        return stems, weights

    # -- scoring --------------------------------------------------------------

    def match(self, subject, text, organisations=None, limit=5):
        """The best topics for a message, best first, or an abstention."""
        limit = max(int(limit or 1), 1)
        message = f"{subject or ''}\n{text or ''}"
        stems, weights = self._query_terms(message[:MAX_QUERY_CHARS])
        if not stems:
            return MatchResult([], True, "no informative word")
        query = dict(weights)
        # The urgent situation the message describes, named in plain words.
        concepts = set()
        categories = detect_urgency(message).categories  # cached: the router asks again
        for category in categories:
            concept = [stem(word) for word in content_words(CONCEPTS[category])]
            for term in concept + _pairs(concept):
                if term in self.postings:
                    query[term] = max(query.get(term, 0.0), CONCEPT_WEIGHT)
                    concepts.add(term)
        for pair in _pairs(stems):
            if pair in self.postings:
                a, b = pair.split("_", 1)
                query[pair] = PAIR_WEIGHT * min(weights[a], weights[b])
        # The other words of each word's family ("inscrit": inscription, inscrire).
        relatives = {}
        for term, weight in weights.items():
            for other in self._family_members.get(_family(term), ()):
                if other not in weights:
                    relatives[other] = max(relatives.get(other, 0.0), FAMILY_WEIGHT * weight)
        for term, weight in relatives.items():
            query[term] = max(query.get(term, 0.0), weight)
        scores = defaultdict(float)
        information = 0.0  # what the message says, in idf units
        for term, boost in query.items():
            idf = self.idf.get(term)
            if idf is None:
                information += UNKNOWN_IDF_SHARE * self.max_idf
                continue
            if "_" not in term and term not in relatives:
                information += boost * idf
            if idf < MIN_IDF:
                continue
            factor = boost * idf
            for index, weight in self.postings[term]:
                scores[index] += factor * weight
        # An urgent topic names a danger: it fits a message that shows signs
        # of one, and fits less a message that shows none.
        factor = URGENT_AGREEMENT if categories else 1 / URGENT_AGREEMENT
        for index in self._urgent:
            if index in scores:
                scores[index] *= factor
        if organisations:
            allowed = set(organisations)
            scores = {i: s for i, s in scores.items() if self.docs[i].organisation in allowed}
        ranked = heapq.nlargest(limit + 5, scores.items(), key=itemgetter(1))
        ranked = sorted(
            ((index, score) for index, score in ranked if score > 0),
            key=lambda item: (-item[1], self.docs[item[0]].organisation, self.docs[item[0]].slug),
        )[:limit]
        if not ranked:
            return MatchResult([], True, "no word of the knowledge base")
        top = ranked[0][1]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        coverage = min(top / information, 1.0) if information else 0.0
        margin = (top - second) / top
        candidates = [
            Candidate(self.docs[index], round(score, 4), _confidence(score / top * coverage, margin if i == 0 else 0.0))
            for i, (index, score) in enumerate(ranked)
        ]
        best_terms = self.doc_terms[ranked[0][0]]
        # A danger the lexicon recognised, named by an urgent topic: two
        # signs that agree, enough to send it straight to the competent service.
        if self.docs[ranked[0][0]].urgent and any(t in best_terms for t in concepts):
            return MatchResult(candidates, False, "")
        min_evidence = MIN_EVIDENCE * self.median_idf
        if top < min_evidence:
            return MatchResult(candidates, True, f"best score {top:.2f} below {min_evidence:.2f}")
        if coverage < MIN_COVERAGE:
            return MatchResult(candidates, True, f"the best topic explains {coverage:.0%} of the message")
        # Distinct words in common (or of the same family).
        shared = {
            t
            for t in stems
            if self.idf.get(t, 0.0) >= MIN_IDF
            and (t in best_terms or any(r in best_terms for r in self._family_members.get(_family(t), ())))
        }
        if len(shared) < MIN_SHARED_TERMS:
            return MatchResult(candidates, True, "a single word in common with the best topic")
        return MatchResult(candidates, False, "")


def _common_prefix(a, b):
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _confidence(coverage, margin):
    """0..1: how much of the message the topic explains, and how far ahead it is."""
    return round(max(0.0, min(1.0, 0.6 * min(coverage * 2, 1.0) + 0.4 * margin)), 4)


def docs_from_db():
    """Every topic of the knowledge base as a TopicDoc, services in their order."""
    from django.db.models import Prefetch

    from kb.models import Topic, TopicService

    docs = []
    links = TopicService.objects.select_related("service__organisation").order_by("position", "pk")
    topics = Topic.objects.select_related("organisation", "parent").prefetch_related(
        Prefetch("service_links", queryset=links)
    )
    for topic in topics:
        services = [link.service for link in topic.service_links.all()]
        docs.append(
            TopicDoc(
                id=topic.pk,
                slug=topic.slug,
                organisation=topic.organisation.slug,
                title=topic.title,
                keywords=list(topic.keywords or ()),
                examples=list(topic.examples or ()),
                article=topic.article or "",
                urgent=topic.urgent,
                parent=topic.parent.slug if topic.parent else None,
                services=[f"{s.organisation.slug}/{s.slug}" for s in services],
                service_text="\n".join(f"{s.name}. {s.description}" for s in services),
                sensitive=topic.sensitive,
                priority=topic.priority,
            )
        )
    return docs


_cache = {"revision": None, "matcher": None}
_cache_lock = threading.Lock()


def get_matcher():
    """The process's matcher for the current knowledge-base revision (one
    revision read per call; the index is rebuilt only when it changed)."""
    from config import memory
    from kb.revision import current

    revision = current()
    with _cache_lock:
        built = _cache["revision"] != revision or _cache["matcher"] is None
        if built:
            _cache["matcher"] = Matcher.build(docs_from_db())
            _cache["revision"] = revision
        matcher = _cache["matcher"]
    if built:
        memory.settle()  # the new index out of the collector's sight (server processes)
    return matcher


def reset_cache():
    with _cache_lock:
        _cache.update(revision=None, matcher=None)
