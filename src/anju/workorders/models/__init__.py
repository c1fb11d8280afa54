"""Work orders: the order and its state machine (:mod:`.orders`) and how a community configures
them (:mod:`.config`)."""

from anju.workorders.models.config import (
    Category,
    DispatchMode,
    Kind,
    Priority,
    SlaPolicy,
    TechnicianProfile,
    WorkingCalendar,
    WorkOrderSettings,
)
from anju.workorders.models.orders import (
    BOARD_STATES,
    CANCELLABLE_STATES,
    DISPATCHABLE_STATES,
    FINAL_STATES,
    HELD_STATES,
    OPEN_STATES,
    WORKING_STATES,
    FollowUp,
    QuoteState,
    Source,
    State,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
)

__all__ = [
    "BOARD_STATES",
    "CANCELLABLE_STATES",
    "DISPATCHABLE_STATES",
    "FINAL_STATES",
    "HELD_STATES",
    "OPEN_STATES",
    "WORKING_STATES",
    "Category",
    "DispatchMode",
    "FollowUp",
    "Kind",
    "Priority",
    "QuoteState",
    "SlaPolicy",
    "Source",
    "State",
    "TechnicianProfile",
    "WorkOrder",
    "WorkOrderEvent",
    "WorkOrderPhoto",
    "WorkOrderSettings",
    "WorkingCalendar",
]
