"""The benchmark's synthetic installation: a fixed clock, the countries it serves and
its price list over them (voice by direction and number type, some prefix rows with a
connect fee, SMS per country, e-mail per 1,000, WhatsApp templates, an agent day pass).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from phonenumbers import PhoneNumberType

# The benchmark's clock: fixed, so that every run seeds and rates the same things.
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
EVENT_WINDOW = timedelta(days=7)

# country, timezone, voice outbound to mobile / to fixed (per minute), SMS per
# segment, voice increment
COUNTRIES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("FR", "Europe/Paris", "0.014", "0.014", "0.0079", "60/60"),
    ("DE", "Europe/Berlin", "0.018", "0.012", "0.0750", "60/60"),
    ("GB", "Europe/London", "0.013", "0.010", "0.0420", "60/60"),
    ("ES", "Europe/Madrid", "0.016", "0.011", "0.0650", "60/60"),
    ("IT", "Europe/Rome", "0.019", "0.012", "0.0690", "60/60"),
    ("NL", "Europe/Amsterdam", "0.020", "0.013", "0.0980", "60/60"),
    ("BE", "Europe/Brussels", "0.022", "0.014", "0.0890", "60/60"),
    ("CH", "Europe/Zurich", "0.035", "0.016", "0.0650", "60/60"),
    ("AT", "Europe/Vienna", "0.024", "0.014", "0.0700", "60/60"),
    ("PT", "Europe/Lisbon", "0.018", "0.012", "0.0350", "60/60"),
    ("IE", "Europe/Dublin", "0.021", "0.013", "0.0600", "60/60"),
    ("SE", "Europe/Stockholm", "0.017", "0.011", "0.0550", "60/60"),
    ("NO", "Europe/Oslo", "0.019", "0.012", "0.0600", "60/60"),
    ("DK", "Europe/Copenhagen", "0.018", "0.012", "0.0450", "60/60"),
    ("FI", "Europe/Helsinki", "0.024", "0.016", "0.0800", "60/60"),
    ("PL", "Europe/Warsaw", "0.015", "0.010", "0.0300", "60/60"),
    ("US", "America/New_York", "0.010", "0.010", "0.0083", "6/6"),
    ("CA", "America/Toronto", "0.010", "0.010", "0.0083", "6/6"),
    ("BR", "America/Sao_Paulo", "0.045", "0.030", "0.0300", "30/6"),
    ("MX", "America/Mexico_City", "0.040", "0.020", "0.0250", "60/60"),
    ("AU", "Australia/Sydney", "0.038", "0.020", "0.0450", "30/30"),
    ("JP", "Asia/Tokyo", "0.090", "0.050", "0.0800", "60/60"),
    ("IN", "Asia/Kolkata", "0.020", "0.025", "0.0050", "60/60"),
    ("ZA", "Africa/Johannesburg", "0.050", "0.030", "0.0300", "1/1"),
    ("SG", "Asia/Singapore", "0.020", "0.015", "0.0400", "1/1"),
)

# Number types called, and how often.
NUMBER_KINDS: tuple[tuple[str, int, int], ...] = (
    ("mobile", PhoneNumberType.MOBILE, 6),
    ("fixed", PhoneNumberType.FIXED_LINE, 3),
    ("toll_free", PhoneNumberType.TOLL_FREE, 1),
)
LISTS = ("support", "marketing")


def price_rows() -> list[dict[str, object]]:
    """The benchmark's price list: per-country rows plus the fallbacks a real one has."""
    rows: list[dict[str, object]] = []
    for country, _, mobile, fixed, sms, increment in COUNTRIES:
        for number_type, price in (("mobile", mobile), ("fixed", fixed), ("toll_free", "0")):
            rows.append(
                {
                    "channel": "voice",
                    "direction": "outbound",
                    "destination": country,
                    "number_type": number_type,
                    "price": price,
                    "increment": increment,
                }
            )
        rows.append({"channel": "sms", "destination": country, "price": sms})
    rows += [
        {"channel": "voice", "direction": "outbound", "price": "0.014", "increment": "60/60"},
        {
            "channel": "voice",
            "direction": "outbound",
            "destination": "+4420",
            "number_type": "fixed",
            "price": "0.010",
            "connect_fee": "0.05",
        },
        {
            "channel": "voice",
            "direction": "outbound",
            "destination": "+3361",
            "price": "0.016",
            "increment": "1/1",
            "connect_fee": "0.01",
        },
        {"channel": "voice", "direction": "inbound", "price": "0.0085"},
        {"channel": "voice", "direction": "inbound", "number_type": "mobile", "price": "0.0100"},
        {"channel": "voice", "direction": "inbound", "number_type": "toll_free", "price": "0.022"},
        {
            "channel": "voice",
            "direction": "inbound",
            "destination": "US",
            "number_type": "toll_free",
            "price": "0.013",
            "increment": "6/6",
        },
        {"channel": "sms", "price": "0.0079"},
        {"channel": "sms", "destination": "+4475", "price": "0.0390"},
        {"channel": "email", "price": "0.675", "per": 1000},
        {"channel": "whatsapp_template", "category": "marketing", "price": "0.0859"},
        {"channel": "whatsapp_template", "category": "utility", "price": "0.0336"},
        {"channel": "whatsapp_template", "category": "authentication", "price": "0.0298"},
        {"channel": "day_pass", "price": "3.5"},
    ]
    return rows
