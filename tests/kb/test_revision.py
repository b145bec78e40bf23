"""The knowledge base's revision number and what is memoised under it: a
change rolled back must leave nothing that a later revision would reuse."""

import pytest
from django.db import transaction

from kb import revision
from kb.models import Organisation, Revision, Topic
from routing.matcher import get_matcher


class Rollback(Exception):
    pass


def topics_known_to_the_matcher():
    return sorted(doc.slug for doc in get_matcher().docs)


@pytest.mark.django_db(transaction=True)
def test_a_value_memoised_inside_a_rolled_back_change_is_never_served_later():
    revision.forget()
    org = Organisation.objects.create(slug="x", name="X", kind="commune")
    Topic.objects.create(organisation=org, slug="encombrants", title="Encombrants")
    assert topics_known_to_the_matcher() == ["encombrants"]

    # An admin edit that fails after the matcher was rebuilt inside it.
    with pytest.raises(Rollback), transaction.atomic():
        Topic.objects.create(organisation=org, slug="fantome", title="Sujet annulé")
        assert topics_known_to_the_matcher() == ["encombrants", "fantome"]
        raise Rollback

    # The next change that commits gets a number the rolled-back one never had.
    Topic.objects.create(organisation=org, slug="voirie", title="Voirie")
    assert topics_known_to_the_matcher() == ["encombrants", "voirie"]


@pytest.mark.django_db(transaction=True)
def test_revision_numbers_only_grow_and_are_read_by_every_process():
    revision.forget()
    before = revision.current()
    revision.bump()
    after = revision.current()
    assert after > before
    assert Revision.objects.get(pk=1).value == after
