"""Every write in the annotation app, one module per area, all reachable as `services.<name>`."""

from annotation.services.accounts import (
    agreement_accept,
    profile_ensure,
    profile_update,
    signup_email_allowed,
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
    flags_raise_many,
)
from annotation.services.imports import categories_by_slug, entries_import, source_ensure
from annotation.services.reviews import (
    entry_decide,
    review_next,
    review_record,
    review_skip,
)

__all__ = [
    "agreement_accept",
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
    "flags_raise_many",
    "profile_ensure",
    "profile_update",
    "review_next",
    "review_record",
    "review_skip",
    "signup_email_allowed",
    "source_ensure",
    "user_activate",
    "user_sign_up",
]
