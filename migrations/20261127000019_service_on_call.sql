-- Who to call about a service during a release (a rota, a channel, a pager alias).
ALTER TABLE services ADD COLUMN on_call TEXT NOT NULL DEFAULT '';
