from decimal import Decimal

import pytest

from annotation.models import Category, ContributorAgreement

DOLLY = {
    "creative_writing": "none",
    "closed_qa": "required",
    "open_qa": "none",
    "general_qa": "none",
    "brainstorming": "none",
    "classification": "optional",
    "information_extraction": "required",
    "summarization": "required",
}


@pytest.mark.django_db
def test_the_eight_dolly_categories_are_seeded_with_their_context_policy():
    seeded = {c.slug: c for c in Category.objects.all()}
    assert {slug: c.context_policy for slug, c in seeded.items()} == DOLLY
    for c in seeded.values():
        assert c.guidelines and c.example_instruction and c.example_response
        assert c.target_count > 0 and c.points_multiplier > Decimal(0)
        assert bool(c.example_context) == (c.context_policy == "required")
    assert sum(c.target_count for c in seeded.values()) == 15_000


@pytest.mark.django_db
def test_an_agreement_is_in_force_and_names_the_license():
    agreement = ContributorAgreement.objects.get(version="1")
    assert "CC-BY-SA 3.0" in agreement.text
    assert "generative AI" in agreement.text
