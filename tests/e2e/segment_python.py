"""Segment's own Python library (segment-analytics-python) against `usercom serve`.

    python3 tests/e2e/segment_python.py URL WRITE_KEY PREFIX [--gzip]

Sends identify, page, track and group calls (ids start with PREFIX) the way an
application would, flushes, and prints one JSON object on stdout:
{"library": "analytics-python/VERSION", "sent": N, "errors": [{"status", "code", "message", "events"}]}
where errors are what the library reported through on_error. tests/e2e_segment_client.rs
runs it and checks the database with `usercom users show --json` and friends.
"""

import json
import sys
import time

INSTALL = "pip install segment-analytics-python==2.4.0"

try:
    from segment.analytics import Client
    from segment.analytics.version import VERSION
except ImportError as e:
    sys.stderr.write(
        "Segment's Python library is not installed ({}): {}\n".format(e, INSTALL)
    )
    sys.exit(3)


def main():
    url, key, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
    gzip = "--gzip" in sys.argv[4:]
    errors = []

    def on_error(error, batch):
        errors.append(
            {
                "status": getattr(error, "status", None),
                "code": getattr(error, "code", None),
                "message": str(getattr(error, "message", error)),
                "events": len(batch),
            }
        )

    client = Client(
        write_key=key,
        host=url,
        on_error=on_error,
        gzip=gzip,
        max_retries=2,
        timeout=10,
        upload_interval=0.05,
    )
    user = prefix + "user"
    anon = prefix + "anon"
    company = prefix + "company"
    context = {
        "ip": "203.0.113.7",
        "locale": "pl-PL",
        "timezone": "Europe/Warsaw",
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "page": {"url": "https://shop.example.com/pricing"},
    }
    sent = 0
    # An anonymous visitor browses, then signs up: the profile becomes the user's.
    client.page(
        anonymous_id=anon,
        name="Pricing",
        properties={"url": "https://shop.example.com/pricing", "title": "Pricing"},
        context=context,
    )
    client.track(anonymous_id=anon, event="Viewed Plan", properties={"plan": "pro"})
    sent += 2
    client.identify(
        user,
        {
            "email": "ada@example.com",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "plan": "pro",
            "logins": 3,
        },
        context=context,
        anonymous_id=anon,
    )
    # The server corrects each batch's clock skew (receivedAt - (sentAt - timestamp)),
    # which moves events by the few milliseconds a batch takes to arrive: calls made
    # microseconds apart in two batches can swap places. A pause keeps the order below
    # (the identify's address, then the server-added one) beyond that jitter.
    client.flush()
    time.sleep(0.3)
    client.track(
        user, "Order Completed", {"order_id": prefix + "o-1", "revenue": 42.5}
    )
    client.group(
        user,
        company,
        {"name": "Analytical Engines Ltd", "employees": 12, "industry": "Computing"},
    )
    client.page(user, name="Thanks", properties={"url": "https://shop.example.com/thanks"})
    # Not taken by the destination, but valid Segment calls: accepted and skipped.
    client.screen(user, name="Home")
    client.alias(previous_id=anon, user_id=user)
    sent += 6
    client.flush()
    client.shutdown()
    json.dump(
        {"library": "analytics-python/" + VERSION, "sent": sent, "errors": errors},
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
