"""Roles of a membership (docs/architecture.md, "Roles"). Free of models so app
configs can import it."""

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    REP = "rep", "Rep"
    FINANCE = "finance", "Finance"
