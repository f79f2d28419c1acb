"""The polling transport (http-api.md "Polled feeds"; docs/polling.md): feeds the control
tower pulls from the partner's URL on a schedule, instead of waiting for the partner to push.

* config.py — the settings (URL, interval, headers, where the cursor is), validated and audited;
* fetch.py — one GET: the page, its next cursor (header, Link or JSON field), Retry-After;
* rounds.py — which feeds are due and claiming them; one round of one feed, its backoff.

* services.py — what the rest of the project calls (the names below, re-exported);
* tasks.py — the beat's dispatch and one round per feed, as Celery tasks.

Polling is a client of the intake, like the ingest API's view: an app above `ingestion` (each
page goes through `message_receive`) and `exceptions` (the case of a feed paused for refused
credentials); its model, FeedPoll, is the feed's and lives in `feeds`. The beat entry `poll-feeds` runs
`polling.poll_due` every 10 s, which queues one `polling.poll_feed` task per feed round."""
