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
    entry_create,
    entry_delete,
    entry_reopen,
    entry_save_draft,
    entry_submit,
    entry_update,
    entry_withdraw,
)
from annotation.services.flags import (
    flag_close,
    flag_raise_by_hand,
    flag_reopen,
    flag_resolve,
    flags_mask_personal_data,
    flags_raise_many,
)
from annotation.services.imports import categories_by_slug, entries_import, source_ensure
from annotation.services.oidc import SignInRefused, oidc_user_sign_in
from annotation.services.reviews import (
    entry_decide,
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
    "entry_reopen",
    "entry_save_draft",
    "entry_submit",
    "entry_update",
    "entry_withdraw",
    "flag_close",
    "flag_raise_by_hand",
    "flag_reopen",
    "flag_resolve",
    "flags_mask_personal_data",
    "flags_raise_many",
    "oidc_user_sign_in",
    "profile_ensure",
    "profile_update",
    "review_next",
    "review_record",
    "review_skip",
    "signup_email_allowed",
    "signup_open",
    "source_ensure",
    "user_activate",
    "user_sessions_end",
    "user_sign_up",
]
