"""Pages of the coaching pillar, mounted at /<tenant_slug>/coaching/."""

from django.urls import path

from coaching import views

app_name = "coaching"

urlpatterns = [
    path("", views.MyMeetingsView.as_view(), name="home"),
    path("series/new/", views.SeriesCreateView.as_view(), name="series-add"),
    path("meetings/<int:pk>/", views.MeetingView.as_view(), name="meeting"),
    path("meetings/<int:pk>/topics/", views.TopicAddView.as_view(), name="topic-add"),
    path("meetings/<int:pk>/refresh/", views.AgendaRefreshView.as_view(), name="agenda-refresh"),
    path("meetings/<int:pk>/tick/", views.AgendaTickView.as_view(), name="agenda-tick"),
    path("meetings/<int:pk>/notes/", views.NotesSaveView.as_view(), name="notes"),
    path("meetings/<int:pk>/private/", views.PrivateNoteAddView.as_view(), name="private-note"),
    path("meetings/<int:pk>/actions/", views.ActionAddView.as_view(), name="action-add"),
    path("meetings/<int:pk>/hold/", views.MeetingHoldView.as_view(), name="hold"),
    path("actions/", views.ActionListView.as_view(), name="action-list"),
    path("actions/<int:pk>/status/", views.ActionStatusView.as_view(), name="action-status"),
    path("team/", views.TeamOverviewView.as_view(), name="team"),
    path("skills/", views.SkillsView.as_view(), name="skills"),
    path("skills/framework/", views.FrameworkView.as_view(), name="framework"),
    path("people/<int:pk>/skills/", views.SkillsView.as_view(), name="member-skills"),
    path(
        "people/<int:pk>/skills/assess/",
        views.SkillWriteView.as_view(op="assess"),
        name="skill-assess",
    ),
    path(
        "people/<int:pk>/skills/training/",
        views.SkillWriteView.as_view(op="training"),
        name="skill-training",
    ),
    path(
        "people/<int:pk>/skills/practice/",
        views.SkillWriteView.as_view(op="practice"),
        name="skill-practice",
    ),
    path(
        "people/<int:pk>/skills/plan/", views.SkillWriteView.as_view(op="plan"), name="skill-plan"
    ),
    path(
        "training/<int:pk>/complete/",
        views.TrainingCompleteView.as_view(),
        name="training-complete",
    ),
    path("reviews/", views.CycleListView.as_view(), name="cycles"),
    path("reviews/<int:pk>/", views.ReviewView.as_view(), name="review"),
    path("reviews/<int:pk>/submit/", views.ReviewSubmitView.as_view(), name="review-submit"),
    path(
        "reviews/<int:pk>/acknowledge/",
        views.ReviewAcknowledgeView.as_view(),
        name="review-acknowledge",
    ),
    path("cycles/<int:pk>/calibration/", views.CalibrationView.as_view(), name="calibration"),
    path("cycles/<int:pk>/close/", views.CycleCloseView.as_view(), name="cycle-close"),
    path("recognition/", views.RecognitionView.as_view(), name="recognition"),
    path("people/<int:pk>/", views.ProfileView.as_view(), name="profile"),
    path("preferences/", views.PreferencesView.as_view(), name="preferences"),
]
