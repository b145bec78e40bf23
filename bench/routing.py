"""Router speed on a generated knowledge base of 2,000 topics: index build
time, per-message routing time (topic match and urgency), memory (the
index's traced allocations, and the process's resident memory growth).

Usage: .venv/bin/python bench/routing.py [--topics 2000] [--messages 2000]
Prints one JSON line. Needs no database.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from routing.matcher import Matcher, TopicDoc  # noqa: E402
from routing.urgency import detect_urgency  # noqa: E402


def rss_mb():
    """Resident memory of this process (Linux), in MB."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError):
        return 0.0


NOUNS = [
    "allocation",
    "aide",
    "dossier",
    "demande",
    "logement",
    "loyer",
    "facture",
    "chauffage",
    "route",
    "chaussée",
    "collège",
    "cantine",
    "transport",
    "car",
    "scolaire",
    "bourse",
    "permis",
    "emploi",
    "formation",
    "stage",
    "apprentissage",
    "handicap",
    "carte",
    "stationnement",
    "enfant",
    "crèche",
    "assistante",
    "maternelle",
    "adoption",
    "placement",
    "famille",
    "personne",
    "âgée",
    "domicile",
    "hébergement",
    "ehpad",
    "santé",
    "vaccin",
    "médecin",
    "consultation",
    "déchets",
    "encombrants",
    "eau",
    "assainissement",
    "voirie",
    "éclairage",
    "trottoir",
    "arbre",
    "pont",
    "rivière",
    "archives",
    "généalogie",
    "musée",
    "bibliothèque",
    "sport",
    "association",
    "subvention",
    "fête",
    "culture",
    "tourisme",
    "vélo",
    "piste",
    "bus",
    "train",
    "gare",
    "abonnement",
    "tarif",
    "réduit",
    "impôt",
    "taxe",
    "foncière",
    "cadastre",
    "urbanisme",
    "travaux",
    "chantier",
    "bruit",
    "voisinage",
    "animal",
    "chien",
    "chat",
    "fourrière",
    "mariage",
    "naissance",
    "décès",
    "état",
    "civil",
    "passeport",
    "identité",
    "élection",
]
VERBS = [
    "obtenir",
    "demander",
    "payer",
    "renouveler",
    "contester",
    "signaler",
    "inscrire",
    "déclarer",
    "trouver",
    "recevoir",
    "annuler",
    "modifier",
]


def generate(n, rng):
    docs = []
    for i in range(n):
        words = rng.sample(NOUNS, 4)
        docs.append(
            TopicDoc(
                id=i,
                slug=f"topic-{i}",
                organisation=f"org-{i % 20}",
                title=f"{rng.choice(VERBS).capitalize()} {words[0]} {words[1]} {i}",
                keywords=[*words, f"{words[2]} {words[3]}"],
                examples=[f"Je voudrais {rng.choice(VERBS)} mon {words[0]} pour le {words[1]}"],
                article=" ".join(rng.choices(NOUNS, k=40)),
            )
        )
    return docs


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topics", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(5)
    docs = generate(args.topics, rng)
    messages = [
        f"Bonjour, je n'arrive pas à {rng.choice(VERBS)} {' '.join(rng.sample(NOUNS, 3))}, pouvez-vous m'aider ? "
        + ("jai un pb avec le " + rng.choice(NOUNS)[:-1] + "e" if rng.random() < 0.3 else "")
        for _ in range(args.messages)
    ]
    rss_before = rss_mb()
    start = time.perf_counter()
    matcher = Matcher.build(docs)
    build_s = time.perf_counter() - start
    rss_delta_mb = rss_mb() - rss_before
    # Memory of the index alone, measured on a second build (tracing slows it).
    del matcher
    tracemalloc.start()
    matcher = Matcher.build(docs)
    memory_mb = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    latencies = []
    for text in messages:
        t0 = time.perf_counter()
        matcher.match("", text)
        detect_urgency(text)
        latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    print(
        json.dumps(
            {
                "bench": "routing",
                "n_topics": args.topics,
                "messages": len(messages),
                "build_s": round(build_s, 3),
                "median_ms": round(statistics.median(latencies), 3),
                "p95_ms": round(latencies[int(0.95 * len(latencies))], 3),
                "memory_mb": round(memory_mb, 1),
                "rss_delta_mb": round(rss_delta_mb, 1),
                "targets": {"median_ms": 2, "p95_ms": 5, "build_s": 5},
            }
        )
    )


if __name__ == "__main__":
    main()
