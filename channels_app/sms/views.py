"""SMS webhooks: messages received and delivery receipts.

Authenticated by a shared secret (settings.SMS_WEBHOOK_TOKEN) given in the
``X-Aiguillage-Token`` header or the ``token`` query parameter (providers
that only let you configure a URL), compared in constant time. Anything
else gets 403 and nothing is stored.
"""

import hmac
import logging

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from channels_app.sms.inbound import InboundError, apply_receipt, parse_inbound, parse_receipt, receive
from contacts.services.ingest import IngestError
from kb.models import Organisation

logger = logging.getLogger(__name__)


def token_is_valid(request):
    expected = settings.SMS_WEBHOOK_TOKEN
    provided = request.headers.get("X-Aiguillage-Token") or request.GET.get("token") or ""
    return bool(expected) and hmac.compare_digest(provided.encode(), expected.encode())


def _forbidden():
    return JsonResponse({"error": "invalid or missing webhook token"}, status=403)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def inbound(request, organisation, provider):
    if not token_is_valid(request):
        return _forbidden()
    organisation = get_object_or_404(Organisation, slug=organisation)
    try:
        sms = parse_inbound(provider, request)
        outcome, ticket = receive(organisation, sms, provider)
    except (InboundError, IngestError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"outcome": outcome, "ticket": ticket.reference if ticket else None})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def receipt(request, provider):
    if not token_is_valid(request):
        return _forbidden()
    try:
        parsed = parse_receipt(provider, request)
    except InboundError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    matched = apply_receipt(parsed)
    if not matched:
        # Perhaps the worker has not recorded the provider's id yet: 404 lets
        # a provider that retries deliver the receipt again later.
        logger.info("SMS receipt for unknown provider id %s (%s)", parsed.provider_id, provider)
        return JsonResponse({"error": f"no SMS with provider id {parsed.provider_id}"}, status=404)
    return JsonResponse({"matched": matched, "status": parsed.status})
