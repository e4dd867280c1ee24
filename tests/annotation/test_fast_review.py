"""Fast reviewing: a recorded review or a skip opens the next entry, the keys the review page
offers, and the count of what the reviewer did today (in the company's time zone)."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest

from annotation import selectors, services
from annotation.models import Review
from tests.factories import category, handed_to, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


def approve(client, entry, rating="4"):
    return client.post(f"/review/{entry.pk}/", {"verdict": "approve", "rating": rating})


def test_a_recorded_review_opens_the_next_entry_and_says_when_none_is_left(bob_client, alice):
    first, second = submitted(alice), submitted(alice)
    assert bob_client.post("/review/next/")["Location"] == f"/review/{first.pk}/"

    response = approve(bob_client, first)
    assert response["Location"] == f"/review/{second.pk}/"
    page = bob_client.get(response["Location"]).content.decode()
    assert f"your review of #{first.pk} is recorded" in page
    assert "Record review" in page

    response = approve(bob_client, second, rating="2")
    assert response["Location"] == "/review/"
    page = bob_client.get("/review/").content.decode()
    assert f"your review of #{second.pk} is recorded" in page
    assert "Nothing is waiting for your review right now." in page
    assert Review.objects.filter(reviewer__username="bob").count() == 2


def test_the_next_entry_comes_from_the_chosen_category(bob_client, alice):
    first = submitted(alice, category=category("brainstorming"))
    submitted(alice)  # open_qa: not wanted
    second = submitted(alice, category=category("brainstorming"))
    bob_client.post("/review/next/", {"category": "brainstorming"})

    assert approve(bob_client, first)["Location"] == f"/review/{second.pk}/"
    assert approve(bob_client, second)["Location"] == "/review/"
    page = bob_client.get("/review/").content.decode()
    assert "Nothing is waiting for your review in Brainstorming right now." in page


def test_a_refused_review_stays_on_its_page(bob_client, alice, bob):
    entry = handed_to(submitted(alice), bob)
    submitted(alice)
    response = bob_client.post(f"/review/{entry.pk}/", {"verdict": "reject", "rating": "2"})
    assert response.status_code == 400
    assert "Give at least one reason" in response.content.decode()


def test_skip_opens_the_next_entry_and_then_says_none_is_left(bob_client, alice):
    first, second = submitted(alice), submitted(alice)
    bob_client.post("/review/next/")
    assert bob_client.post(f"/review/{first.pk}/skip/")["Location"] == f"/review/{second.pk}/"
    response = bob_client.post(f"/review/{second.pk}/skip/", follow=True)
    assert response.redirect_chain[-1][0] == "/review/"
    page = response.content.decode()
    assert f"Skipped #{second.pk}" in page and "Nothing is waiting for your review" in page


def test_the_review_page_names_its_keys_for_the_script(bob_client, alice, bob):
    entry = handed_to(submitted(alice), bob)
    page = bob_client.get(f"/review/{entry.pk}/").content.decode()
    for name, value, key in [
        ("verdict", "approve", "a"),
        ("verdict", "reject", "r"),
        ("rating", "4", "4"),
        ("reasons", "factual_error", "f"),
        ("reasons", "other", "o"),
    ]:
        assert re.search(f'name="{name}" value="{value}"[^>]* data-key="{key}"', page)
    assert 'data-key="s">Skip this one' in page
    # The legend shows only with the script that makes the keys work (progressive enhancement).
    assert '<aside class="review-keys" aria-labelledby="review-keys-title" hidden>' in page
    assert "flock/review_keys.js" in page


def test_the_reason_keys_are_distinct_and_clear_of_the_other_keys():
    from annotation.forms import REASON_KEYS

    keys = list(REASON_KEYS.values())
    assert len(set(keys)) == len(keys)
    assert not set(keys) & {"a", "r", "s", "1", "2", "3", "4", "5"}


def _review_at(moment, entry, reviewer, time_machine):
    time_machine.move_to(moment, tick=False)
    services.review_record(entry=entry, reviewer=reviewer, verdict="approve", rating=4)


def test_todays_count_is_shown_and_leaves_out_yesterday_in_the_company_time_zone(
    bob_client, alice, bob, carol, settings, time_machine
):
    settings.TIME_ZONE = "America/Los_Angeles"
    zone = ZoneInfo("America/Los_Angeles")
    # 20:00 yesterday in Los Angeles is already today in UTC: it is not today's.
    _review_at(
        datetime.datetime(2025, 6, 9, 20, 0, tzinfo=zone), submitted(alice), bob, time_machine
    )
    _review_at(
        datetime.datetime(2025, 6, 10, 0, 5, tzinfo=zone), submitted(alice), bob, time_machine
    )
    _review_at(
        datetime.datetime(2025, 6, 10, 8, 0, tzinfo=zone), submitted(alice), carol, time_machine
    )
    time_machine.move_to(datetime.datetime(2025, 6, 10, 9, 0, tzinfo=zone), tick=False)

    assert selectors.reviews_today(reviewer=bob) == 1
    assert "You reviewed 1 entry today." in bob_client.get("/review/").content.decode()
    entry = handed_to(submitted(alice), bob)
    page = bob_client.get(f"/review/{entry.pk}/").content.decode()
    assert "You reviewed 1 entry today." in page

    time_machine.move_to(datetime.datetime(2025, 6, 11, 0, 1, tzinfo=zone), tick=False)
    assert "You reviewed 0 entries today." in bob_client.get("/review/").content.decode()


@pytest.mark.parametrize(
    ("yesterday", "today", "now"),
    [
        # Spring forward: the day is 23 hours; midnight was still winter time (UTC+1).
        ((3, 29, 23, 30), (3, 30, 0, 15), (3, 30, 12, 0)),
        # Fall back: the day is 25 hours; midnight was still summer time (UTC+2).
        ((10, 25, 23, 50), (10, 26, 0, 30), (10, 26, 23, 30)),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_todays_count_follows_the_wall_clock_across_a_daylight_saving_change(
    alice, bob, settings, time_machine, yesterday, today, now
):
    settings.TIME_ZONE = "Europe/Berlin"
    zone = ZoneInfo("Europe/Berlin")

    def moment(month, day, hour, minute):
        return datetime.datetime(2025, month, day, hour, minute, tzinfo=zone)

    _review_at(moment(*yesterday), submitted(alice), bob, time_machine)
    _review_at(moment(*today), submitted(alice), bob, time_machine)
    time_machine.move_to(moment(*now), tick=False)
    assert selectors.reviews_today(reviewer=bob) == 1


@pytest.mark.parametrize(
    "data",
    [
        None,  # nothing chosen yet
        {"verdict": "reject", "rating": "2", "reasons": ["duplicate", "other"]},  # checked ones
        {"verdict": "<b>&\"'", "rating": "9"},  # not a choice: escaped where echoed
    ],
)
def test_the_review_forms_options_render_as_djangos_own_templates_would(alice, data):
    """The keyed choices write their option inputs without the template engine (forms.py,
    option_html): every option, checked or not, with or without its label wrapped, is the
    HTML Django's input_option.html gives for it."""
    from annotation.forms import KeyedChoicesMixin, ReviewForm

    entry = submitted(alice)
    form = ReviewForm(data, entry=entry, seen_text={}, seen_revision=1)
    compared = 0
    for name in ("verdict", "rating", "reasons"):
        for choice in form[name]:
            for wrap_label in (False, True):
                widget = choice.parent_widget
                context = {"widget": {**choice.data, "wrap_label": wrap_label}}
                ours = widget._render(choice.template_name, context, choice.renderer)
                django = super(KeyedChoicesMixin, widget)._render(
                    choice.template_name, context, choice.renderer
                )
                assert ours == django
                compared += 1
    assert compared == 2 * (2 + 5 + len(form.fields["reasons"].choices))
    assert 'data-key="a"' in str(form["verdict"][0].tag())


def test_keyed_options_escape_what_they_show_and_skip_the_template_engine(monkeypatch):
    """Values, labels and keys that need escaping come out as Django's templates write them,
    and the option inputs are written without rendering a template."""
    from django import forms as django_forms

    from annotation.forms import KeyedCheckboxSelectMultiple, KeyedChoicesMixin

    choices = [('a"b', "<i>one</i> & 'two'"), ("c<d", "plain")]
    widget = KeyedCheckboxSelectMultiple(keys={'a"b': "<k>", "c<d": "&"})
    field = django_forms.MultipleChoiceField(choices=choices, widget=widget)
    form = type("KeyedForm", (django_forms.Form,), {"picked": field})({"picked": ['a"b']})
    options = list(form["picked"])
    for choice in options:
        for wrap_label in (False, True):
            context = {"widget": {**choice.data, "wrap_label": wrap_label}}
            django = super(KeyedChoicesMixin, choice.parent_widget)._render(
                choice.template_name, context, choice.renderer
            )
            assert choice.parent_widget._render(choice.template_name, context) == django
    assert "checked" in options[0].tag() and "checked" not in options[1].tag()

    def no_templates(*args, **kwargs):
        raise AssertionError("an option went through the template engine")

    monkeypatch.setattr(type(options[0].renderer), "render", no_templates)
    assert 'value="a&quot;b"' in options[0].tag()
