"""The JSON API for sites that build their own form."""

import uuid

import yaml

from channels_app.models import Orientation
from channels_app.portal.orientation import orientation_from_token
from contacts.models import Ticket


def _payload(**overrides):
    data = {
        "submission_id": str(uuid.uuid4()),
        "name": "Léa Martin",
        "email": "lea@example.org",
        "message": "Mon RSA n'a pas été versé.",
        "topic": "cd99/rsa-versement",
        "postcode": "99100",
    }
    data.update(overrides)
    return data


def test_search_and_orientation(client, widget):
    hits = client.get(f"/api/v1/widgets/{widget.key}/topics/", {"q": "rsa pas versé"}).json()
    assert any(hit["slug"] == "rsa-versement" for hit in hits)
    answer = client.get(f"/api/v1/widgets/{widget.key}/topics/cd99/rsa-versement/", {"cp": "99100"}).json()
    assert answer["service"]["organisation"] == "cd99"
    assert answer["elsewhere"] is False
    assert Orientation.objects.get(pk=orientation_from_token(answer["orientation"])).channel == "api"


def test_a_request_carries_only_an_orientation_this_site_gave(client, widget):
    answer = client.get(f"/api/v1/widgets/{widget.key}/topics/cd99/rsa-versement/", {"cp": "99100"}).json()
    orientation_id = orientation_from_token(answer["orientation"])
    # Another visitor's orientation, by its bare id or a forged token: refused, nothing stored.
    for forged in (str(orientation_id), f"{orientation_id}:forged", "1"):
        response = client.post(
            f"/api/v1/widgets/{widget.key}/requests/", _payload(orientation=forged), content_type="application/json"
        )
        assert response.status_code == 400
        assert "orientation" in response.json()
    assert Ticket.objects.count() == 0
    response = client.post(
        f"/api/v1/widgets/{widget.key}/requests/",
        _payload(orientation=answer["orientation"]),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert Orientation.objects.get(pk=orientation_id).ticket == Ticket.objects.get()


def test_request_created_once_per_submission_id(client, widget):
    payload = _payload()
    first = client.post(f"/api/v1/widgets/{widget.key}/requests/", payload, content_type="application/json")
    assert first.status_code == 201, first.content
    again = client.post(f"/api/v1/widgets/{widget.key}/requests/", payload, content_type="application/json")
    assert again.status_code == 200
    assert first.json()["reference"] == again.json()["reference"]
    ticket = Ticket.objects.get()
    assert ticket.topic.slug == "rsa-versement"
    assert first.json()["followup_url"].startswith("http")


def test_field_errors_are_reported_per_field_in_french(client, widget):
    response = client.post(
        f"/api/v1/widgets/{widget.key}/requests/",
        _payload(email="lea@", phone="12"),
        content_type="application/json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert "email" in errors
    response = client.post(
        f"/api/v1/widgets/{widget.key}/requests/", _payload(email="", phone=""), content_type="application/json"
    )
    assert "Indiquez une adresse e-mail ou un numéro de téléphone" in response.json()["email"][0]
    assert Ticket.objects.count() == 0


def test_origin_not_allowed_is_refused(client, widget):
    response = client.post(
        f"/api/v1/widgets/{widget.key}/requests/",
        _payload(),
        content_type="application/json",
        HTTP_ORIGIN="https://evil.example",
    )
    assert response.status_code == 403
    assert "evil.example" in response.json()["detail"]
    assert Ticket.objects.count() == 0


def test_allowed_origin_gets_cors_headers(client, widget):
    response = client.post(
        f"/api/v1/widgets/{widget.key}/requests/",
        _payload(),
        content_type="application/json",
        HTTP_ORIGIN="https://www.cd99.example",
    )
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == "https://www.cd99.example"
    preflight = client.options(f"/api/v1/widgets/{widget.key}/requests/", HTTP_ORIGIN="https://www.cd99.example")
    assert preflight.status_code == 204


def test_unknown_key_and_topic(client, widget):
    assert client.get("/api/v1/widgets/nope/topics/", {"q": "rsa"}).status_code == 404
    response = client.post(
        f"/api/v1/widgets/{widget.key}/requests/", _payload(topic="cd99/nope"), content_type="application/json"
    )
    assert response.status_code == 400 and "topic" in response.json()


def test_callback_via_api(client, widget):
    response = client.post(
        f"/api/v1/widgets/{widget.key}/callbacks/",
        {"submission_id": str(uuid.uuid4()), "name": "Paul", "phone": "0611223344", "slots": ["morning"]},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().channel == "phone"


def test_openapi_schema_documents_the_endpoints(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    assert "/api/v1/widgets/{key}/requests/" in paths
    assert "/api/v1/widgets/{key}/topics/" in paths


def test_multipart_request_with_a_document_and_a_bad_one(client, widget):
    from django.core.files.uploadedfile import SimpleUploadedFile

    good = SimpleUploadedFile("avis.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    response = client.post(f"/api/v1/widgets/{widget.key}/requests/", {**_payload(), "attachments": good})
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().messages.get().attachments.get().filename == "avis.pdf"
    bad = SimpleUploadedFile("photo.png", b"MZ\x90\x00" + b"\x00" * 100, content_type="image/png")
    response = client.post(f"/api/v1/widgets/{widget.key}/requests/", {**_payload(), "attachments": bad})
    assert response.status_code == 400
    assert "n’est pas vraiment un fichier PNG" in response.json()["attachments"][0]
    assert Ticket.objects.count() == 1
