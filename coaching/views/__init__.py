"""Pages of the coaching pillar."""

from coaching.views.meetings import (
    ActionAddView,
    ActionListView,
    ActionStatusView,
    AgendaRefreshView,
    AgendaTickView,
    MeetingHoldView,
    MeetingView,
    MyMeetingsView,
    NotesSaveView,
    PrivateNoteAddView,
    SeriesCreateView,
    TeamOverviewView,
    TopicAddView,
)
from coaching.views.recognition import PreferencesView, ProfileView, RecognitionView
from coaching.views.reviews import (
    CalibrationView,
    CycleCloseView,
    CycleListView,
    ReviewAcknowledgeView,
    ReviewSubmitView,
    ReviewView,
)
from coaching.views.skills import FrameworkView, SkillsView, SkillWriteView, TrainingCompleteView

__all__ = [
    "CalibrationView",
    "CycleCloseView",
    "CycleListView",
    "PreferencesView",
    "ProfileView",
    "RecognitionView",
    "ReviewAcknowledgeView",
    "ReviewSubmitView",
    "ReviewView",
    "FrameworkView",
    "SkillWriteView",
    "SkillsView",
    "TrainingCompleteView",
    "ActionAddView",
    "ActionListView",
    "ActionStatusView",
    "AgendaRefreshView",
    "AgendaTickView",
    "MeetingHoldView",
    "MeetingView",
    "MyMeetingsView",
    "NotesSaveView",
    "PrivateNoteAddView",
    "SeriesCreateView",
    "TeamOverviewView",
    "TopicAddView",
]
