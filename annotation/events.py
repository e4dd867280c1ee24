"""What the annotation app announces to the apps built on it.

`annotation` imports none of them (the dependency points one way), yet scoring must happen in
the same transaction as the decision that earns the points. So the decision is announced,
explicitly, at the one place it is taken (`services.reviews._decide`; an overturn likewise in
`services.reviews.entry_overturn`), and `leaderboard` connects its scorer in its
AppConfig.ready(). Receivers run synchronously inside the caller's transaction: an exception in
one rolls the decision back too.
"""

from django.dispatch import Signal

# Sent with `decision` (an annotation.models.Decision) right after a review round is decided.
entry_decided = Signal()

# Sent with `overturn` (an annotation.models.Overturn) when a moderator overturns a decision, before
# any new decision of the round is taken: leaderboard takes back the points the overturned decision
# earned (compensating events), in the overturn's transaction.
entry_overturned = Signal()

# Sent with `review` (an annotation.models.Review) in the transaction that records it, before
# any decision it tips: leaderboard counts it on its reviewer's boards once it commits.
review_recorded = Signal()

# Sent with `entry` (an annotation.models.Entry) when it is submitted for review, so that quality
# checks can look at it; receivers should defer slow work with transaction.on_commit.
entry_submitted = Signal()

# Sent with `person` (the erased account) and `entry_ids` (the entries whose text was erased) in
# the transaction that erases a person's data (services.erasure.person_erase): quality drops the
# entries from the duplicate index and settles their clusters once it commits; leaderboard
# checks its cached boards.
person_erased = Signal()

# Sent with `request` (the writing page's autosave, as posted) and `entry` (the draft it saved,
# or None when nothing was typed yet) when an autosave is answered 200. Receivers return HTML
# that the answer carries as out-of-band swaps (or ""): quality's similarity warning rides on
# it, so that a pause in typing costs the server one request, not two.
draft_autosaved = Signal()
