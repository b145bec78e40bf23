"""Measuring the router on labelled messages, without creating anything."""

import json
import statistics
import time

from kb.models import Organisation, Service
from routing.matcher import get_matcher
from routing.territory import choose_service, postcode_in_text
from routing.urgency import detect_urgency


def route_text(text, postcode="", matcher=None, services=None):
    """(topic doc or None, service key or None, urgent) for a text."""
    matcher = matcher or get_matcher()
    result = matcher.match("", text)
    best = result.best
    urgent = detect_urgency(text).urgent or bool(best and best.doc.urgent)
    service = None
    if best is not None:
        candidates = [services[key] for key in best.doc.services if key in services]
        chosen, _ = choose_service(candidates, postcode or postcode_in_text(text))
        service = str(chosen) if chosen else None
    return best, service, urgent, result


def evaluate_file(organisation, path):
    if not Organisation.objects.filter(slug=organisation).exists():
        raise ValueError(f"unknown organisation {organisation!r}")
    matcher = get_matcher()
    services = {str(s): s for s in Service.objects.select_related("organisation")}
    n = top1 = top3 = service_n = service_ok = tp = fp = fn = abstain_n = abstain_ok = 0
    latencies = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                text, expected = item["text"], item.get("expected_topic")
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a labelled message: {exc}") from exc
            start = time.perf_counter()
            best, service, urgent, result = route_text(text, item.get("postcode", ""), matcher, services)
            latencies.append((time.perf_counter() - start) * 1000)
            n += 1
            got = best.doc.slug if best else None
            top1 += got == expected
            ranked = [] if result.abstained else [c.doc.slug for c in result.candidates[:3]]
            top3 += (expected is None and got is None) or expected in ranked
            if expected is None:
                abstain_n += 1
                abstain_ok += got is None
            if item.get("expected_service"):
                service_n += 1
                service_ok += service == item["expected_service"]
            if item.get("urgent"):
                tp += urgent
                fn += not urgent
            else:
                fp += urgent
    latencies.sort()
    return {
        "n": n,
        "top1": round(top1 / n, 4) if n else 0.0,
        "top3": round(top3 / n, 4) if n else 0.0,
        "service_accuracy": round(service_ok / service_n, 4) if service_n else None,
        "urgent_recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "urgent_precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "median_ms": round(statistics.median(latencies), 3) if latencies else None,
        "p95_ms": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 3) if latencies else None,
        "abstain_accuracy": round(abstain_ok / abstain_n, 4) if abstain_n else None,
    }
