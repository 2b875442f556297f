"""Pages of the incentives pillar: statements (every role, within reach),
plans and the plan builder, assignments, calculation runs and adjustments
(admins and finance; admins change plans and assignments)."""
