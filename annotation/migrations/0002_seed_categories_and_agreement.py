from decimal import Decimal

from django.db import migrations
from django.utils import timezone

# The eight databricks-dolly-15k task types. The text is copied into this migration (not imported)
# so that later edits to the code cannot change what an old migration did.
CATEGORIES = [
    {
        "slug": "creative_writing",
        "name": "Creative writing",
        "summary": "A prompt for a poem, story, letter or essay, and a piece that answers it.",
        "guidelines": (
            "Write a request for an original piece: a poem, a short story, a letter, a speech, an "
            "essay or a joke. Say what you want specifically (form, tone, audience, length), then "
            "write the piece yourself. The task must not be answerable by looking up a fact. No "
            "reference passage. Write it all in your own words; do not use generative AI or copy "
            "from anywhere."
        ),
        "example_instruction": "Write a four-line poem for a colleague who is retiring after 30 years in the mail room.",
        "example_context": "",
        "example_response": (
            "Thirty years of names and numbers, every parcel found its door,\n"
            "You knew each desk by handwriting and each birthday on the floor.\n"
            "The carts will squeak a little lonely and the stamps will miss your hand,\n"
            "But the garden's waiting, Marty, and it's time the roses had a plan."
        ),
        "context_policy": "none",
        "target_count": 1500,
        "points_multiplier": Decimal("1.50"),
    },
    {
        "slug": "closed_qa",
        "name": "Closed QA",
        "summary": "A question answered only from a reference passage, and the answer.",
        "guidelines": (
            "Paste a passage from an allowed source (Wikipedia by default) and give its address. Ask "
            "a question that can be answered from the passage alone, then answer it using only what "
            "the passage says. The answer should need the passage: avoid questions everybody knows."
        ),
        "example_instruction": "According to the passage, when did the Hubble Space Telescope launch, and what was wrong with it at first?",
        "example_context": (
            "The Hubble Space Telescope was launched into low Earth orbit in 1990 and remains in "
            "operation. Shortly after launch, its main mirror was found to have been ground "
            "incorrectly, which compromised the telescope's capabilities. The optics were corrected "
            "to their intended quality by a servicing mission in 1993."
        ),
        "example_response": (
            "It launched in 1990. Its main mirror had been ground incorrectly, which limited what "
            "it could do until a servicing mission corrected the optics in 1993."
        ),
        "context_policy": "required",
        "target_count": 2000,
        "points_multiplier": Decimal("1.50"),
    },
    {
        "slug": "open_qa",
        "name": "Open QA",
        "summary": "A factual question answerable from general knowledge, and a correct answer.",
        "guidelines": (
            "Ask a question with a factual answer that a well-read person could give without a "
            "reference, and answer it correctly and completely. No reference passage. Check your "
            "facts; a wrong answer is rejected by reviewers."
        ),
        "example_instruction": "Why do we have leap years?",
        "example_context": "",
        "example_response": (
            "A year on the calendar has 365 days, but the Earth takes about 365.24 days to orbit "
            "the Sun. Adding a day to February every fourth year keeps the calendar in step with "
            "the seasons; century years are skipped unless they divide by 400, which corrects the "
            "small over-correction."
        ),
        "context_policy": "none",
        "target_count": 2500,
        "points_multiplier": Decimal("1.00"),
    },
    {
        "slug": "general_qa",
        "name": "General QA",
        "summary": "An open-ended question (advice, opinion, explanation) and a thoughtful answer.",
        "guidelines": (
            "Ask something open-ended that has no single right answer: advice, a comparison, an "
            "explanation of how or why. Answer it the way a thoughtful, well-informed colleague "
            "would, with reasons. No reference passage."
        ),
        "example_instruction": "How should I prepare for my first week managing a team I used to be part of?",
        "example_context": "",
        "example_response": (
            "Start by talking to each person one to one: ask what they want from you now and what "
            "they found hard about the old setup. Be open that the relationship has changed, and "
            "keep the friendly parts while being clear about the decisions that are now yours. "
            "Avoid big changes in the first weeks; learn first, then act."
        ),
        "context_policy": "none",
        "target_count": 2000,
        "points_multiplier": Decimal("1.00"),
    },
    {
        "slug": "brainstorming",
        "name": "Brainstorming",
        "summary": "A request for many ideas, and a list of them.",
        "guidelines": (
            "Ask for a range of ideas on a topic and write a varied, useful list: several distinct "
            "ideas, each a line or two. No reference passage."
        ),
        "example_instruction": "Give me ideas for a team-building afternoon that doesn't involve drinking.",
        "example_context": "",
        "example_response": (
            "- A cooking class where the team makes lunch together\n"
            "- An escape room\n"
            "- A volunteer afternoon at a food bank\n"
            "- A board-game tournament with silly prizes\n"
            "- A guided walk or city scavenger hunt\n"
            "- A pottery or printmaking workshop"
        ),
        "context_policy": "none",
        "target_count": 1750,
        "points_multiplier": Decimal("1.00"),
    },
    {
        "slug": "classification",
        "name": "Classification",
        "summary": "Items to sort, rate or label, and the labels.",
        "guidelines": (
            "Give items to sort into classes, rate, or label, and name the options in the "
            "instruction; then give the correct label for each item. A reference passage is "
            "optional: add one (with its source) when the items come from it."
        ),
        "example_instruction": "Classify each of these as a fruit or a vegetable in everyday cooking: carrot, apple, broccoli, mango, spinach.",
        "example_context": "",
        "example_response": "Carrot: vegetable\nApple: fruit\nBroccoli: vegetable\nMango: fruit\nSpinach: vegetable",
        "context_policy": "optional",
        "target_count": 1750,
        "points_multiplier": Decimal("1.00"),
    },
    {
        "slug": "information_extraction",
        "name": "Information extraction",
        "summary": "A request to pull facts out of a reference passage, and the extracted facts.",
        "guidelines": (
            "Paste a passage from an allowed source and give its address. Ask for specific facts "
            "from it (names, dates, figures, a list of items) and extract them accurately, in the "
            "form asked for. Use only what the passage says."
        ),
        "example_instruction": "List the years and events mentioned in this passage about the Hubble Space Telescope.",
        "example_context": (
            "The Hubble Space Telescope was launched into low Earth orbit in 1990 and remains in "
            "operation. A servicing mission in 1993 corrected its optics, and the last servicing "
            "mission, in 2009, installed new instruments."
        ),
        "example_response": "1990: launch into low Earth orbit\n1993: servicing mission corrected the optics\n2009: last servicing mission installed new instruments",
        "context_policy": "required",
        "target_count": 1750,
        "points_multiplier": Decimal("1.50"),
    },
    {
        "slug": "summarization",
        "name": "Summarization",
        "summary": "A request to summarise a reference passage, and the summary.",
        "guidelines": (
            "Paste a passage from an allowed source and give its address. Ask for a summary (you "
            "may set a length or an audience) and write it in your own words: shorter than the "
            "passage, faithful to it, adding nothing it does not say."
        ),
        "example_instruction": "Summarise this passage in one sentence for a ten-year-old.",
        "example_context": (
            "The Hubble Space Telescope was launched into low Earth orbit in 1990 and remains in "
            "operation. Shortly after launch, its main mirror was found to have been ground "
            "incorrectly. The optics were corrected by a servicing mission in 1993, and Hubble has "
            "since made observations that changed our understanding of the universe."
        ),
        "example_response": "Hubble is a space telescope launched in 1990 whose blurry mirror was fixed by astronauts in 1993, and since then it has taught us a lot about space.",
        "context_policy": "required",
        "target_count": 1750,
        "points_multiplier": Decimal("1.50"),
    },
]

AGREEMENT_V1 = """By submitting an entry to Flock you agree that:

1. Your entries are released under the Creative Commons Attribution-ShareAlike 3.0 Unported licence (CC-BY-SA 3.0), so that anyone may use, share and adapt them, including to train language models.
2. Every instruction and response is written in your own words. You do not copy text from other sources, except reference passages taken from an allowed source (Wikipedia by default), whose address you give with the passage.
3. You do not use ChatGPT or any other generative AI to write or rewrite any part of an entry.
4. Your entries contain no personal data about anyone (e-mail addresses, phone numbers, card numbers, identity numbers) and nothing confidential to the company.
"""


def seed(apps, schema_editor):
    Category = apps.get_model("annotation", "Category")
    ContributorAgreement = apps.get_model("annotation", "ContributorAgreement")
    for position, fields in enumerate(CATEGORIES):
        Category.objects.update_or_create(
            slug=fields["slug"], defaults={**fields, "position": position}
        )
    ContributorAgreement.objects.get_or_create(
        version="1", defaults={"text": AGREEMENT_V1, "published_at": timezone.now()}
    )


def unseed(apps, schema_editor):
    Category = apps.get_model("annotation", "Category")
    ContributorAgreement = apps.get_model("annotation", "ContributorAgreement")
    Category.objects.filter(slug__in=[c["slug"] for c in CATEGORIES], entries__isnull=True).delete()
    ContributorAgreement.objects.filter(version="1", acceptances__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("annotation", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
