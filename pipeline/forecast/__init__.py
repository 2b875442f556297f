"""Forecasting in the pipeline pillar (docs/architecture.md, "Forecasting";
docs/formulas.md section 7): deal categories and their history, calls and
their roll-up through the team tree, weekly snapshots, the statistical
forecast and its accuracy. Reads only pipeline and the core."""
