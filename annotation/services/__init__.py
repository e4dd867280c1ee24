"""Every write in the annotation app, one module per area, all reachable as `services.<name>`."""

from annotation.services.accounts import (
    activation_user,
    agreement_accept,
    profile_ensure,
    profile_update,
    signup_email_allowed,
    signup_open,
    user_activate,
    user_sign_up,
)
from annotation.services.entries import (
    DraftChanged,
    entry_create,
    entry_delete,
    entry_reopen,
    entry_save_draft,
    entry_submit,
    entry_update,
    entry_withdraw,
    revision_restore,
)
from annotation.services.erasure import (
    entry_release_withdraw,
    erase_confirmation_error,
    person_erase,
)
from annotation.services.flags import (
    flag_close,
    flag_raise_by_hand,
    flag_reopen,
    flag_resolve,
    flags_mask_personal_data,
    flags_raise_many,
)
from annotation.services.gold import gold_mark, gold_unmark
from annotation.services.imports import categories_by_slug, entries_import, source_ensure
from annotation.services.moderation import moderation_bulk
from annotation.services.notifications import (
    notification_email_send,
    notifications_create,
    notifications_mark_read,
    notifications_send_digests,
    notify_entry_decided,
    notify_entry_fixed,
    notify_entry_overturned,
)
from annotation.services.oidc import SignInRefused, oidc_user_sign_in
from annotation.services.reviews import (
    entry_decide,
    entry_overturn,
    review_next,
    review_record,
    review_skip,
)
from annotation.services.tokens import (
    TokenRefused,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    api_tokens_revoke_all,
    user_sessions_end,
)

__all__ = [
    "DraftChanged",
    "SignInRefused",
    "TokenRefused",
    "activation_user",
    "agreement_accept",
    "api_token_authenticate",
    "api_token_create",
    "api_token_revoke",
    "api_tokens_revoke_all",
    "categories_by_slug",
    "entries_import",
    "entry_create",
    "entry_decide",
    "entry_delete",
    "entry_overturn",
    "entry_release_withdraw",
    "entry_reopen",
    "entry_save_draft",
    "entry_submit",
    "entry_update",
    "entry_withdraw",
    "erase_confirmation_error",
    "flag_close",
    "flag_raise_by_hand",
    "flag_reopen",
    "flag_resolve",
    "flags_mask_personal_data",
    "flags_raise_many",
    "gold_mark",
    "gold_unmark",
    "moderation_bulk",
    "notification_email_send",
    "notifications_create",
    "notifications_mark_read",
    "notifications_send_digests",
    "notify_entry_decided",
    "notify_entry_fixed",
    "notify_entry_overturned",
    "oidc_user_sign_in",
    "person_erase",
    "profile_ensure",
    "profile_update",
    "review_next",
    "review_record",
    "review_skip",
    "revision_restore",
    "signup_email_allowed",
    "signup_open",
    "source_ensure",
    "user_activate",
    "user_sessions_end",
    "user_sign_up",
]
