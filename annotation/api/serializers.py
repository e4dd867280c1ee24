from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation import selectors
from annotation.models import (
    MAX_COMMENT_CHARS,
    MAX_DECISION_REASON_CHARS,
    ApiToken,
    Category,
    Decision,
    Entry,
    Flag,
    FlagKind,
    RejectReason,
    Review,
    Verdict,
)
from annotation.services.flags import MAX_NOTE_CHARS
from annotation.services.tokens import MAX_EXPIRY_DAYS, MAX_NAME_CHARS
from annotation.text import DRAFT_HARD_LIMIT
from config.schema import ErrorSerializer as ErrorSerializer  # the API's one error body


def _text_field(**kwargs):
    # No trimming here: the services normalise text, and drafts keep what the writer typed.
    return serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=DRAFT_HARD_LIMIT,
        **kwargs,
    )


class CategoryExampleSerializer(serializers.Serializer):
    instruction = serializers.CharField(source="example_instruction")
    context = serializers.CharField(source="example_context")
    response = serializers.CharField(source="example_response")


class CategorySerializer(serializers.ModelSerializer):
    example = CategoryExampleSerializer(source="*")
    accepted_count = serializers.IntegerField()
    submitted_count = serializers.IntegerField()
    remaining = serializers.IntegerField(help_text="Target minus accepted and in-review entries.")

    class Meta:
        model = Category
        fields = [
            "slug",
            "name",
            "summary",
            "guidelines",
            "example",
            "context_policy",
            "target_count",
            "points_multiplier",
            "accepted_count",
            "submitted_count",
            "remaining",
        ]


class DiffSegmentSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=["same", "removed", "added"])
    text = serializers.CharField()


class FixDiffSerializer(serializers.Serializer):
    field = serializers.CharField()
    diff = DiffSegmentSerializer(many=True)


class AuthorReviewSerializer(serializers.Serializer):
    """A review as the entry's author sees it: no reviewer name."""

    round = serializers.IntegerField()
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    rating = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.ChoiceField(choices=RejectReason.choices))
    comment = serializers.CharField()
    fix = FixDiffSerializer(many=True, source="fix_diffs", help_text="The reviewer's corrections.")
    created_at = serializers.DateTimeField()


class DecisionSerializer(serializers.ModelSerializer):
    by_moderator = serializers.BooleanField(read_only=True)

    class Meta:
        model = Decision
        fields = [
            "round",
            "outcome",
            "by_moderator",
            "reason",
            "approvals",
            "rejections",
            "created_at",
        ]
        read_only_fields = fields


def _source_url_field():
    # Plain text, not format "uri": a draft keeps whatever its writer typed; the URL is checked
    # on submit (annotation/text.py).
    return serializers.CharField(
        read_only=True, help_text="The reference passage's source, as its writer typed it."
    )


class EntrySerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    source_url = _source_url_field()
    reviews = serializers.SerializerMethodField(
        help_text="Reviews of every decided round (empty while the entry is under review)."
    )
    decision = serializers.SerializerMethodField(help_text="How the latest decided round ended.")

    class Meta:
        model = Entry
        fields = [
            "id",
            "category",
            "instruction",
            "context",
            "response",
            "source_url",
            "status",
            "created_at",
            "updated_at",
            "submitted_at",
            "reviews",
            "decision",
        ]
        read_only_fields = fields

    def _feedback(self, entry):
        # A list view passes every entry's feedback at once (selectors.entry_feedback_many);
        # otherwise it is read once per entry and kept for the next field.
        known = self.context.setdefault("feedback", {})
        if entry.pk not in known:
            known[entry.pk] = selectors.entry_feedback(entry=entry)
        return known[entry.pk]

    @extend_schema_field(AuthorReviewSerializer(many=True))
    def get_reviews(self, entry):
        reviews = [review for rnd in self._feedback(entry) for review in rnd.reviews]
        return AuthorReviewSerializer(reviews, many=True).data

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_decision(self, entry):
        feedback = self._feedback(entry)
        return DecisionSerializer(feedback[0].decision).data if feedback else None


class ReviewEntrySerializer(serializers.ModelSerializer):
    """An entry handed to a reviewer."""

    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    source_url = _source_url_field()

    class Meta:
        model = Entry
        fields = [
            "id",
            "category",
            "instruction",
            "context",
            "response",
            "source_url",
            "submitted_at",
            "review_count",
            "lease_expires_at",
        ]
        read_only_fields = fields


class ReviewNextSerializer(serializers.Serializer):
    category = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Category.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Only hand out entries of this category.",
    )


class ReviewCreateSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    rating = serializers.IntegerField(min_value=1, max_value=5)
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=RejectReason.choices), required=False, default=list
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_COMMENT_CHARS
    )
    instruction = _text_field(help_text="Corrected instruction (a fix, with an approval).")
    context = _text_field(help_text="Corrected reference passage.")
    response = _text_field(help_text="Corrected response.")


class ReviewSerializer(serializers.ModelSerializer):
    fixed = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "entry",
            "round",
            "verdict",
            "rating",
            "reasons",
            "comment",
            "fixed",
            "created_at",
        ]
        read_only_fields = fields

    def get_fixed(self, review) -> bool:
        return review.fix_id is not None


class DecideSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    reason = serializers.CharField(max_length=MAX_DECISION_REASON_CHARS)


class EntryTextSerializer(serializers.Serializer):
    """The text of a draft; on PATCH only the fields sent change."""

    instruction = _text_field()
    context = _text_field()
    response = _text_field()
    source_url = _text_field()


class EntryCreateSerializer(EntryTextSerializer):
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.filter(is_active=True)
    )


class AgreementSerializer(serializers.Serializer):
    version = serializers.CharField(allow_null=True)
    text = serializers.CharField(allow_null=True)
    accepted = serializers.BooleanField()
    accepted_at = serializers.DateTimeField(allow_null=True)


class AgreementAcceptSerializer(serializers.Serializer):
    version = serializers.CharField(
        required=False, help_text="The version you read; refused if it is not the one in force."
    )


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    display_name = serializers.CharField()
    team = serializers.CharField(allow_null=True)
    show_on_leaderboard = serializers.BooleanField()
    is_staff = serializers.BooleanField()
    agreement = AgreementSerializer()


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(
        required=False, max_length=MAX_NAME_CHARS, help_text="What the token is for."
    )
    expires_in_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        help_text="Days until the token is refused (default 30); null: it never expires.",
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as its owner sees it: never the key, never its digest."""

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at"]
        read_only_fields = fields


class TokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="The key, shown this once: keep it secret.")

    class Meta(ApiTokenSerializer.Meta):
        fields = ["token", *ApiTokenSerializer.Meta.fields]
        read_only_fields = fields


class FlagSerializer(serializers.ModelSerializer):
    evidence = serializers.CharField(
        source="evidence_shown",
        read_only=True,
        help_text="What the check found; personal data is masked (the last 4 digits of a card, "
        "an e-mail address's domain).",
    )

    class Meta:
        model = Flag
        fields = [
            "id",
            "entry",
            "kind",
            "evidence",
            "blocking",
            "status",
            "duplicate_of",
            "similarity",
            "raised_by",
            "created_at",
            "resolved_at",
            "note",
        ]
        read_only_fields = fields


class FlagRaiseSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FlagKind.choices)
    note = serializers.CharField(max_length=MAX_NOTE_CHARS)


class FlagResolveSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["confirm", "dismiss"])
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
