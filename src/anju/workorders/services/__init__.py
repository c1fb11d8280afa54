"""Every write on work orders, reached as ``anju.workorders.services.<verb_object>``.

The modules: :mod:`.orders` (report, photos, accept/reject/cancel, quote, the work itself),
:mod:`.dispatch` (assign, grab, round-robin, automatic, transfer, hand back), :mod:`.feedback`
(confirm, dispute, rate, follow-ups, auto-confirm, billing hand-off), :mod:`.escalation` (the SLA
sweep) and :mod:`.setup` (defaults, categories, SLA policies, settings, technician profiles).
"""

from anju.workorders.services.common import IllegalTransition
from anju.workorders.services.dispatch import (
    assign_order,
    dispatch_automatically,
    give_back_order,
    grab_order,
    transfer_order,
)
from anju.workorders.services.escalation import sweep_overdue
from anju.workorders.services.feedback import (
    auto_confirm_due,
    close_order,
    complete_follow_up,
    confirm_order,
    dispute_order,
    rate_order,
)
from anju.workorders.services.orders import (
    accept_order,
    add_photos,
    answer_quote,
    cancel_order,
    comment_order,
    create_order,
    pause_order,
    quote_order,
    reject_order,
    report_order,
    resolve_order,
    resume_order,
    start_order,
)
from anju.workorders.services.setup import (
    add_sla_policy,
    ensure_defaults,
    save_working_calendar,
    set_technician_profile,
    update_category,
    update_settings,
)

__all__ = [
    "IllegalTransition",
    "accept_order",
    "add_photos",
    "add_sla_policy",
    "answer_quote",
    "assign_order",
    "auto_confirm_due",
    "cancel_order",
    "close_order",
    "comment_order",
    "complete_follow_up",
    "confirm_order",
    "create_order",
    "dispatch_automatically",
    "dispute_order",
    "ensure_defaults",
    "give_back_order",
    "grab_order",
    "pause_order",
    "quote_order",
    "rate_order",
    "reject_order",
    "report_order",
    "resolve_order",
    "resume_order",
    "save_working_calendar",
    "set_technician_profile",
    "start_order",
    "sweep_overdue",
    "transfer_order",
    "update_category",
    "update_settings",
]
