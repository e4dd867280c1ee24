"""Audit finding 4: one account per e-mail address, in any case, enforced by the database."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from tests.factories import UserFactory

User = get_user_model()


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db
def test_the_database_refuses_a_second_account_with_the_same_address_in_any_case():
    UserFactory(username="erin", email="erin@corp.example")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(username="erin2", email="Erin@Corp.Example", password="x")
    # Accounts without an address (made in the admin, say) are not one address.
    User.objects.create_user(username="nomail1", email="", password="x")
    User.objects.create_user(username="nomail2", email="", password="x")


@pytest.mark.django_db
def test_the_admin_refuses_an_address_another_account_has(admin_client):
    UserFactory(username="erin", email="erin@corp.example")
    frank = UserFactory(username="frank", email="frank@corp.example")
    response = admin_client.post(
        f"/admin/auth/user/{frank.pk}/change/",
        {
            "username": "frank",
            "email": "ERIN@corp.example",
            "is_active": "on",
            "date_joined_0": "2026-01-05",
            "date_joined_1": "09:00:00",
        },
    )
    assert response.status_code == 200
    assert "Another account has this e-mail address." in response.content.decode()
    frank.refresh_from_db()
    assert frank.email == "frank@corp.example"


def test_the_migration_names_the_shared_addresses_instead_of_guessing(transactional_db):
    _migrate([("annotation", "0010_api_tokens")])
    try:
        UserFactory(username="erin", email="erin@corp.example")
        UserFactory(username="erin2", email="ERIN@corp.example")
        with pytest.raises(RuntimeError, match=r"erin@corp\.example"):
            _migrate([("annotation", "0011_user_email_unique")])
        User.objects.filter(username="erin2").update(email="erin2@corp.example")
        _migrate([("annotation", "0011_user_email_unique")])
        with pytest.raises(IntegrityError), transaction.atomic():
            UserFactory(username="erin3", email="Erin@corp.example")
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def _sign_up(username, email):
    from annotation import services

    return services.user_sign_up(
        username=username,
        email=email,
        password="a long pass phrase 7",
        activation_url_for=lambda uid, token: f"http://testserver/a/{uid}/{token}/",
    )


def test_ten_simultaneous_sign_ups_with_one_address_make_one_account(postgresql, seeded, settings):
    """The audit's race: each sign-up checked the address, none saw the others, ten accounts
    (sock puppets that could approve their own entries). The index makes all but one start over,
    see the account, and answer like any sign-up with a known address."""
    settings.FLOCK_SIGNUP_EMAIL_DOMAINS = ["acme.example"]
    start = threading.Barrier(10)
    results, failures = [], []

    def sign_up(n):
        try:
            start.wait()
            results.append(
                _sign_up(f"puppet{n}", "Erin@acme.example" if n % 2 else "erin@acme.example")
            )
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len([r for r in results if r is not None]) == 1
    assert User.objects.filter(email__iexact="erin@acme.example").count() == 1


@pytest.mark.django_db
def test_a_tagged_address_is_refused_at_sign_up(settings):
    from django.core.exceptions import ValidationError

    settings.FLOCK_SIGNUP_EMAIL_DOMAINS = ["acme.example"]
    with pytest.raises(ValidationError) as caught:
        _sign_up("erin", "erin+2@acme.example")
    assert "without a +tag" in caught.value.message_dict["email"][0]
    assert not User.objects.filter(username="erin").exists()
