"""The audit trail (README "Audit trail", docs/architecture.md "Audit trail"):
database triggers record every change of the tracked tables (``tracking``),
django-pghistory's context says who made it and how (``context``), and the
page and the API read it (``selectors``, ``views``, ``api``)."""
