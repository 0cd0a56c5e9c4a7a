"""When a photo was taken: EXIF capture time checked, placed in a time zone, and described.

The capture time is DateTimeOriginal (then DateTimeDigitized, then IFD0 DateTime), with its
OffsetTime* tag when the camera wrote one, else the offset of the place's time zone at that
moment, else it stays "local, zone unknown". A missing, impossible (month 13, 30 February) or
factory-default time (the clock of a camera nobody set: 2000:01:01 00:00:00, Unix and DOS
epochs) is unknown and is said to be: the file's modification time is never the capture time
(it may be shown, labelled "file date").
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from ..results import TimeFacts

_DT = re.compile(r"^\s*(\d{4})[:\-/](\d{1,2})[:\-/](\d{1,2})[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")
EARLIEST = date(1826, 1, 1)  # the oldest surviving photograph
# clocks of cameras nobody set: always exactly midnight on the first of January
DEFAULT_YEARS = {1970, 1980, 1990, 2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007, 2008, 2009, 2010}

TIMES_OF_DAY = [  # (from hour, English, Chinese)
    (0, "night", "夜间"), (5, "early morning", "清晨"), (8, "morning", "上午"), (11, "midday", "中午"),
    (14, "afternoon", "下午"), (18, "evening", "傍晚"), (20, "night", "夜间"),
]
WEEKDAYS = [("Monday", "星期一"), ("Tuesday", "星期二"), ("Wednesday", "星期三"), ("Thursday", "星期四"),
            ("Friday", "星期五"), ("Saturday", "星期六"), ("Sunday", "星期日")]
SEASONS = {"spring": "春季", "summer": "夏季", "autumn": "秋季", "winter": "冬季"}
TROPIC = 23.44


def parse_exif_time(text: str | None) -> tuple[datetime | None, str | None]:
    """(naive local datetime, None) or (None, why it is unusable)."""
    if text is None or not str(text).strip(" \x00"):
        return None, "no capture time in EXIF"
    text = str(text).strip(" \x00")
    m = _DT.match(text)
    if not m:
        return None, f"unreadable capture time {text!r}"
    y, mo, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
    if y == 0 and mo == 0:
        return None, "no capture time in EXIF (the camera left it blank)"
    try:
        dt = datetime(y, mo, d, h, mi, s)
    except ValueError:
        return None, f"impossible capture time {text!r}"
    if dt.date() < EARLIEST:
        return None, f"impossible capture time {text!r} (before photography)"
    if (mo, d, h, mi, s) == (1, 1, 0, 0, 0) and y in DEFAULT_YEARS:
        return None, f"camera factory default {text!r} (its clock was never set)"
    if dt > datetime.now() + timedelta(days=2):
        return None, f"capture time {text!r} is in the future (a wrong camera clock)"
    return dt, None


def parse_offset(text: str | None) -> timedelta | None:
    m = _OFFSET.match(str(text)) if text else None
    if not m:
        return None
    sign, hh, mm = m.groups()
    delta = timedelta(hours=int(hh), minutes=int(mm))
    if delta > timedelta(hours=14) or int(mm) >= 60:
        return None
    return -delta if sign == "-" else delta


def format_offset(delta: timedelta) -> str:
    total = int(delta.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{sign}{total // 60:02d}:{total % 60:02d}"


def time_of_day(hour: int) -> tuple[str, str]:
    en, zh = TIMES_OF_DAY[0][1:]
    for start, e, z in TIMES_OF_DAY:
        if hour >= start:
            en, zh = e, z
    return en, zh


def season(month: int, latitude: float | None) -> str | None:
    """Meteorological season, flipped south of the equator; none in the tropics or without a latitude."""
    if latitude is None or abs(latitude) < TROPIC:
        return None
    north = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
             6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}[month]
    if latitude > 0:
        return north
    return {"winter": "summer", "summer": "winter", "spring": "autumn", "autumn": "spring"}[north]


def time_facts(recorded: str | None, offset: str | None = None, *, zone: str | None = None,
               latitude: float | None = None, file_mtime: float | None = None) -> TimeFacts:
    """Facts about the capture time. ``zone`` is the place's IANA zone (used when EXIF has no
    offset); ``latitude`` only picks the hemisphere for the season."""
    file_date = (datetime.fromtimestamp(file_mtime, timezone.utc).isoformat(timespec="seconds")
                 .replace("+00:00", "Z") if file_mtime is not None else None)
    local, problem = parse_exif_time(recorded)
    raw = str(recorded).strip(" \x00") if recorded else None
    if local is None:
        return TimeFacts(known=False, problem=problem, recorded=raw, file_date=file_date)
    delta, source, used_zone = parse_offset(offset), "exif", None
    if delta is None and zone:
        try:
            from zoneinfo import ZoneInfo

            delta = local.replace(tzinfo=ZoneInfo(zone)).utcoffset()
            source, used_zone = "place", zone
        except (KeyError, ValueError, OSError):  # an unknown zone name
            delta = None
    if delta is None:
        source = "unknown"
    tod = time_of_day(local.hour)
    wd = WEEKDAYS[local.weekday()]
    se = season(local.month, latitude)
    return TimeFacts(
        known=True, recorded=raw, local=local.isoformat(timespec="seconds"),
        offset=format_offset(delta) if delta is not None else None, zone=used_zone, zone_source=source,
        instant=((local - delta).isoformat(timespec="seconds") + "Z") if delta is not None else None,
        time_of_day=tod[0], time_of_day_zh=tod[1], weekday=wd[0], weekday_zh=wd[1],
        season=se, season_zh=SEASONS[se] if se else None, file_date=file_date,
    )
