"""Expands Railyard's calendar feed the way a calendar app does, with the
`icalendar` and `recurring-ical-events` libraries from PyPI.

usage: expand_feed.py FEED.ics FROM TO [--own-zones]

Prints, as JSON, every event occurrence starting in [FROM, TO) (RFC 3339):
uid, start in UTC, summary and status. With --own-zones
every TZID is renamed so that no time zone database knows it, and the
library has to place times with the feed's own VTIMEZONE components.
"""

import json
import sys
from datetime import datetime, timezone

import icalendar
import recurring_ical_events


def utc(value):
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    path, start, end = sys.argv[1:4]
    own_zones = "--own-zones" in sys.argv[4:]
    with open(path, "rb") as feed:
        text = feed.read().decode("utf-8")
    if own_zones:
        # Unfolded lines keep a TZID whole; the renamed zone exists only in the feed.
        text = text.replace("\r\n ", "").replace("TZID=", "TZID=Railyard-").replace("TZID:", "TZID:Railyard-")
    calendar = icalendar.Calendar.from_ical(text)
    begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    finish = datetime.fromisoformat(end.replace("Z", "+00:00"))
    occurrences = []
    for event in recurring_ical_events.of(calendar).between(begin, finish):
        start = event["DTSTART"].dt
        if not isinstance(start, datetime) or start.tzinfo is None:
            raise SystemExit(f"an all-day or floating start in a feed of cutovers: {start!r}")
        if not begin <= start < finish:
            continue
        occurrences.append(
            {
                "uid": str(event["UID"]),
                "start": utc(start),
                "summary": str(event.get("SUMMARY", "")),
                "status": str(event.get("STATUS", "")),
            }
        )
    occurrences.sort(key=lambda o: (o["start"], o["uid"]))
    json.dump(occurrences, sys.stdout)


main()
