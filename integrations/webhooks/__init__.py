"""SPM webhooks: domain events delivered to the tenant's HTTPS endpoints,
signed per the Standard Webhooks scheme (README, "Integrating with SPM").

- ``signing``: secrets, the signature and the headers;
- ``destinations``: which URLs may receive deliveries;
- ``messages``: domain events (``spm.events``) turned into webhook messages;
- ``services``: subscriptions, dispatch, attempts, replays, pausing.
"""
