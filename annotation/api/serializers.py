from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation import selectors
from annotation.models import (
    MAX_COMMENT_CHARS,
    MAX_DECISION_REASON_CHARS,
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
from annotation.text import DRAFT_HARD_LIMIT


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


class EntrySerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
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


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)


class FlagSerializer(serializers.ModelSerializer):
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
