"""Forms of the coaching pages (the services check the rules; these parse input)."""

from __future__ import annotations

from typing import Any

from django import forms

from coaching.models import ActionItem, ActionStatus, Skill, TrainingAssignment
from goals.models import Goal
from pipeline.models import Deal
from spm.models import Membership


class SeriesForm(forms.Form):
    member = forms.ModelChoiceField(queryset=Membership.objects.none(), label="With")
    first_at = forms.DateTimeField(
        label="First meeting", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    every_days = forms.IntegerField(label="Every (days)", initial=14, min_value=1, max_value=92)

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = people  # type: ignore[attr-defined]


class TopicForm(forms.Form):
    title = forms.CharField(max_length=300, label="Topic")


class NotesForm(forms.Form):
    shared_notes = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 6}), label="Shared notes"
    )


class PrivateNoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Private note")


class ActionForm(forms.Form):
    title = forms.CharField(max_length=300, label="Action")
    due_on = forms.DateField(label="Due", widget=forms.DateInput(attrs={"type": "date"}))
    owner = forms.ChoiceField(label="Owner", choices=[("member", "Member"), ("manager", "Manager")])
    deal = forms.ModelChoiceField(queryset=Deal.objects.none(), required=False, label="About deal")
    goal = forms.ModelChoiceField(queryset=Goal.objects.none(), required=False, label="About goal")

    def __init__(self, *args: Any, deals: Any, goals: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deal"].queryset = deals  # type: ignore[attr-defined]
        self.fields["goal"].queryset = goals  # type: ignore[attr-defined]


class ActionStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ActionStatus.choices)


class AssessmentForm(forms.Form):
    skill = forms.ModelChoiceField(queryset=Skill.objects.none())
    level = forms.IntegerField(min_value=1, help_text="1 (beginner) to the top of the scale")
    assessed_on = forms.DateField(label="On", widget=forms.DateInput(attrs={"type": "date"}))
    comment = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, skills: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["skill"].queryset = skills  # type: ignore[attr-defined]


class TrainingForm(forms.Form):
    title = forms.CharField(max_length=200)
    link = forms.URLField(required=False, max_length=500)
    due_on = forms.DateField(label="Due", widget=forms.DateInput(attrs={"type": "date"}))
    skill = forms.ModelChoiceField(queryset=Skill.objects.none(), required=False)

    def __init__(self, *args: Any, skills: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["skill"].queryset = skills  # type: ignore[attr-defined]


class PracticeForm(forms.Form):
    scenario = forms.CharField(max_length=300)
    practiced_on = forms.DateField(label="On", widget=forms.DateInput(attrs={"type": "date"}))
    customer_played_by = forms.ModelChoiceField(
        queryset=Membership.objects.none(), required=False, label="Customer played by"
    )
    feedback = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, skills: list, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer_played_by"].queryset = people  # type: ignore[attr-defined]
        self.skills = skills
        for skill in skills:
            self.fields[f"rating_{skill.pk}"] = forms.IntegerField(
                required=False, min_value=1, label=f"{skill.name} rating"
            )

    def ratings(self) -> dict:
        return {
            s: self.cleaned_data[f"rating_{s.pk}"]
            for s in self.skills
            if self.cleaned_data.get(f"rating_{s.pk}") is not None
        }


class DevelopmentForm(forms.Form):
    skill = forms.ModelChoiceField(queryset=Skill.objects.none())
    target_level = forms.IntegerField(min_value=1)
    note = forms.CharField(required=False, max_length=2000)
    action = forms.ModelChoiceField(queryset=ActionItem.objects.none(), required=False)
    training = forms.ModelChoiceField(queryset=TrainingAssignment.objects.none(), required=False)

    def __init__(
        self, *args: Any, skills: Any, actions: Any, trainings: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["skill"].queryset = skills  # type: ignore[attr-defined]
        self.fields["action"].queryset = actions  # type: ignore[attr-defined]
        self.fields["training"].queryset = trainings  # type: ignore[attr-defined]


class SkillForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, max_length=500)
    position = forms.IntegerField(min_value=0, initial=0)
