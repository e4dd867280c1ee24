from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotation import services
from annotation.models import Category, Team

DEMO_PASSWORD = "flock-demo"

# (username, display name, team, role) — alice writes, bob reviews, carol is staff, dana exports.
# Samples: (author, category, text, who approves it) — two approvals accept an entry.
PEOPLE = [
    ("alice", "Alice Martin", "Engineering", "contributor"),
    ("bob", "Bob Okafor", "Sales", "contributor"),
    ("carol", "Carol Nguyen", "Support", "moderator"),
    ("dana", "Dana Kowalski", "Research", "data scientist"),
]
# What each demo login shows a newcomer; the README's table of demo logins says the same.
TRY = {
    "alice": "a newcomer: accept the agreement, then write on /write/",
    "bob": "a contributor with entries: review colleagues' work on /review/",
    "carol": "a moderator and contest admin: /moderation/, /contests/, /admin/",
    "dana": "a data scientist: snapshots on /exports/",
}


def demo_logins() -> list[str]:
    """The demo logins as `make run` prints them: who to sign in as, and what to try."""
    return [f"  {username:<6} {TRY[username]}" for username, *_ in PEOPLE]


SAMPLES = [
    (
        "bob",
        "open_qa",
        {
            "instruction": "Why is the sky blue?",
            "response": (
                "Sunlight contains every colour. Air molecules scatter short wavelengths (blue) much "
                "more than long ones (red), so blue light reaches our eyes from all over the sky."
            ),
        },
        ["carol", "dana"],
    ),
    (
        "bob",
        "brainstorming",
        {
            "instruction": "Suggest names for an internal newsletter about data quality.",
            "response": "- The Clean Sheet\n- Signal & Noise\n- Row by Row\n- The Dedupe Digest",
        },
        [],
    ),
    (
        "carol",
        "closed_qa",
        {
            "instruction": "How tall is the Eiffel Tower according to the passage?",
            "context": (
                "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris. "
                "It is 330 metres tall, about the same height as an 81-storey building."
            ),
            "source_url": "https://en.wikipedia.org/wiki/Eiffel_Tower",
            "response": "It is 330 metres tall.",
        },
        ["dana"],
    ),
]


class Command(BaseCommand):
    help = "Create demo people, teams and entries (idempotent) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never in production)."
        )

    @transaction.atomic
    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates accounts with a known password; DEBUG is off.")
        User = get_user_model()
        # One hash for every demo login: a real hasher costs a fraction of a second by design,
        # and a newcomer's first `make run` waits for each one.
        password = make_password(DEMO_PASSWORD)
        scientists, _ = Group.objects.get_or_create(name=settings.FLOCK_DATA_SCIENTISTS_GROUP)
        users = {}
        for username, display_name, team_name, role in PEOPLE:
            team, _ = Team.objects.get_or_create(name=team_name)
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            if created:
                user.password = password
                user.is_staff = role == "moderator"
                user.is_superuser = role == "moderator"
                user.save()
            if role == "data scientist":
                user.groups.add(scientists)
            profile = services.profile_ensure(user=user)
            if not profile.display_name:
                services.profile_update(
                    user=user, display_name=display_name, team=team, show_on_leaderboard=True
                )
            users[username] = user

        for username, slug, values, approvers in SAMPLES:
            author = users[username]
            category = Category.objects.get(slug=slug)
            if author.entries.filter(instruction=values["instruction"]).exists():
                continue
            services.agreement_accept(user=author)
            entry = services.entry_create(author=author, category=category, values=values)
            services.entry_submit(entry=entry, actor=author)
            for reviewer in approvers:
                services.review_record(
                    entry=entry, reviewer=users[reviewer], verdict="approve", rating=4
                )

        if options["verbosity"] >= 1:
            self.stdout.write(
                self.style.SUCCESS(f"Demo data ready. Demo logins (password {DEMO_PASSWORD}):")
            )
            self.stdout.write("\n".join(demo_logins()))
