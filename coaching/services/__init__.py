"""Every write of the coaching pillar (one module per area)."""

from coaching.services.actions import action_create, action_set_status
from coaching.services.meetings import (
    agenda_item_add,
    agenda_item_tick,
    agenda_refresh,
    agenda_refresh_by,
    coaching_settings_save,
    meeting_cancel,
    meeting_hold,
    meeting_notes_save,
    previous_meeting,
    private_note_add,
    series_create,
    settings_of,
)
from coaching.services.notifications import (
    meeting_reminders_send,
    preferences_of,
    preferences_save,
)
from coaching.services.recognition import kudos_give, milestones_recognise
from coaching.services.reviews import (
    cycle_close,
    cycle_open,
    questions_check,
    review_acknowledge,
    review_submit_manager,
    review_submit_self,
)
from coaching.services.skills import (
    assessment_record,
    development_item_add,
    practice_log,
    skill_save,
    skills_ensure_default,
    training_assign,
    training_complete,
)

__all__ = [
    "cycle_close",
    "cycle_open",
    "kudos_give",
    "meeting_reminders_send",
    "milestones_recognise",
    "preferences_of",
    "preferences_save",
    "questions_check",
    "review_acknowledge",
    "review_submit_manager",
    "review_submit_self",
    "assessment_record",
    "development_item_add",
    "practice_log",
    "skill_save",
    "skills_ensure_default",
    "training_assign",
    "training_complete",
    "action_create",
    "action_set_status",
    "agenda_item_add",
    "agenda_item_tick",
    "agenda_refresh",
    "agenda_refresh_by",
    "coaching_settings_save",
    "meeting_cancel",
    "meeting_hold",
    "meeting_notes_save",
    "previous_meeting",
    "private_note_add",
    "series_create",
    "settings_of",
]
