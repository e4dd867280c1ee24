import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from annotation.models import Entry, EntryStatus

pytestmark = pytest.mark.django_db


def test_seed_demo_makes_people_and_entries_once(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "Demo logins (password flock-demo)" in out
    assert "  alice  a newcomer" in out and "  dana   a data scientist" in out
    users = get_user_model().objects
    assert users.get(username="carol").is_staff
    assert users.get(username="dana").groups.filter(name="data-scientists").exists()
    assert users.get(username="alice").check_password("flock-demo")
    assert Entry.objects.count() == 3
    assert Entry.objects.filter(status=EntryStatus.ACCEPTED).count() == 1


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo")
    assert not get_user_model().objects.filter(username="alice").exists()


def test_seed_demo_is_silent_at_verbosity_0(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    assert capsys.readouterr().out == ""
    assert get_user_model().objects.filter(username="alice").exists()
