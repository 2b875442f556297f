"""Each role's start page (the tenant home): the pillars' figures side by side.

A cross-pillar module: it reads pipeline, goals and KPI selectors, and no
pillar imports it.
"""
