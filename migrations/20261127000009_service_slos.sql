-- A service's SLO as JSON ({"target": 0.999, "window_ms": ...}); empty when it has none.
ALTER TABLE services ADD COLUMN slo TEXT NOT NULL DEFAULT '';
