"""Moments: photos grouped into events (a trip, a birthday afternoon) by time gaps and distance.

One sweep over time-ordered segments (a photo, or a moment found before):

* a gap of more than ``gap_hours`` (6 h) starts a new moment, except on a trip: photos away from
  home (more than ``away_km`` from where photos are taken on the most days) within ``trip_km`` of
  the moment and at most ``trip_gap_hours`` (36 h) apart stay together, so three days in Shanghai
  are one moment while three evenings at home are three. Home needs photos on ``HOME_DAYS``
  days or more and a fifth of the located photos: a few days somewhere are a trip, not a home;
  where no home is known yet every place counts as away;
* a jump of more than ``jump_km`` between consecutive photos more than an hour apart (a flight)
  starts a new moment even within the gap.

Incremental: pass the moments found before with the new photos; old moments are segments of
their own, so the cost grows with the number of new photos and moments, not with every photo
ever grouped. A moment keeps its id when photos join it; a moment that swallows another keeps
the older id. Photos without a usable capture time are not grouped (no date is invented).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable

from ..results import Moment, Place
from .geocode import haversine_km

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


@dataclass
class PhotoRecord:
    """What grouping needs to know about one photo."""

    id: str
    time: datetime | str | None                # capture time: aware, or naive local time
    lat: float | None = None
    lon: float | None = None
    place: Place | None = None
    score: float = 0.0                          # cover choice: higher is better (sharpness, faces ...)


@dataclass
class _Segment:
    start: datetime       # comparable instants (UTC when the zone is known, else local)
    end: datetime
    local_start: datetime
    local_end: datetime
    photos: list[str]
    lat: float | None
    lon: float | None
    located: int
    cover: str
    cover_score: float
    counts: Counter = field(default_factory=Counter)
    places: dict = field(default_factory=dict)
    id: str | None = None


def _as_datetime(t: datetime | str | None) -> datetime | None:
    if t is None:
        return None
    if isinstance(t, str):
        try:
            t = datetime.fromisoformat(t.replace("Z", "+00:00"))
        except ValueError:
            return None
    return t


def _instant(t: datetime) -> datetime:
    return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def place_key(place: Place | None) -> str | None:
    """The name a moment's title uses for a place: the city, else the country or ocean."""
    if place is None:
        return None
    for name in (place.city, place.country, place.ocean):
        if name is not None:
            return name.en
    return None


def _from_photo(r: PhotoRecord) -> _Segment | None:
    t = _as_datetime(r.time)
    if t is None:
        return None
    located = r.lat is not None and r.lon is not None
    key = place_key(r.place)
    return _Segment(start=_instant(t), end=_instant(t), local_start=t.replace(tzinfo=None),
                    local_end=t.replace(tzinfo=None), photos=[r.id], lat=r.lat if located else None,
                    lon=r.lon if located else None, located=int(located), cover=r.id, cover_score=r.score,
                    counts=Counter({key: 1}) if key else Counter(), places={key: r.place} if key else {})


def _from_moment(m: Moment) -> _Segment:
    start, end = datetime.fromisoformat(m.start), datetime.fromisoformat(m.end)
    counts = Counter(m.place_counts)
    places = {place_key(p): p for p in (m.second_place, m.place) if place_key(p)}  # both names of a title
    return _Segment(start=_instant(datetime.fromisoformat(m.start_instant or m.start)),
                    end=_instant(datetime.fromisoformat(m.end_instant or m.end)),
                    local_start=start, local_end=end, photos=list(m.photos), lat=m.center_lat, lon=m.center_lon,
                    located=m.located, cover=m.cover, cover_score=m.cover_score, counts=counts,
                    places=places, id=m.id)


def _merge(a: _Segment, b: _Segment) -> _Segment:
    if a.located + b.located and (a.lat is not None or b.lat is not None):
        wa, wb = (a.located if a.lat is not None else 0), (b.located if b.lat is not None else 0)
        lat = ((a.lat or 0) * wa + (b.lat or 0) * wb) / (wa + wb)
        lon = _mean_lon(a.lon, wa, b.lon, wb)
    else:
        lat = lon = None
    cover, score = (a.cover, a.cover_score) if a.cover_score >= b.cover_score else (b.cover, b.cover_score)
    ids = [x for x in (a.id, b.id) if x]
    return _Segment(start=min(a.start, b.start), end=max(a.end, b.end),
                    local_start=min(a.local_start, b.local_start), local_end=max(a.local_end, b.local_end),
                    photos=a.photos + b.photos, lat=lat, lon=lon, located=a.located + b.located, cover=cover,
                    cover_score=score, counts=a.counts + b.counts, places={**b.places, **a.places},
                    id=ids[0] if ids else None)


def _mean_lon(a: float | None, wa: int, b: float | None, wb: int) -> float:
    """Weighted mean longitude across the antimeridian (179 and -179 average to 180, not 0)."""
    x = (math.cos(math.radians(a or 0)) * wa + math.cos(math.radians(b or 0)) * wb)
    y = (math.sin(math.radians(a or 0)) * wa + math.sin(math.radians(b or 0)) * wb)
    return math.degrees(math.atan2(y, x))


HOME_DAYS = 4  # photos on fewer days somewhere make a trip there, not a home


def _home(segments: list[_Segment]) -> tuple[float, float] | None:
    """Where photos are taken on the most days (then: the most photos), as a half-degree cell,
    if that is ``HOME_DAYS`` days or more and a fifth of the located photos."""
    cells: Counter = Counter()
    days: dict[tuple[float, float], set] = {}
    total = 0
    for s in segments:
        if s.lat is not None:
            cell = (round(s.lat * 2) / 2, round(s.lon * 2) / 2)
            cells[cell] += s.located
            first, span = s.local_start.date(), (s.local_end.date() - s.local_start.date()).days
            days.setdefault(cell, set()).update(first + timedelta(days=d) for d in range(min(span, 366) + 1))
            total += s.located
    if not cells:
        return None
    cell = max(cells, key=lambda c: (len(days[c]), cells[c]))
    return cell if len(days[cell]) >= HOME_DAYS and cells[cell] >= 0.2 * total else None


def _km(a: _Segment, b: _Segment) -> float | None:
    if a.lat is None or b.lat is None:
        return None
    return float(haversine_km(a.lat, a.lon, b.lat, b.lon))


def group_moments(records: Iterable[PhotoRecord], existing: Iterable[Moment] = (), *,
                  gap_hours: float = 6.0, trip_gap_hours: float = 36.0, away_km: float = 100.0,
                  trip_km: float = 150.0, jump_km: float = 300.0,
                  home: tuple[float, float] | None = None) -> list[Moment]:
    """Group photos (and the moments found before) into moments, oldest first."""
    segments = [s for s in (_from_photo(r) for r in records) if s is not None]
    segments += [_from_moment(m) for m in existing]
    segments.sort(key=lambda s: (s.start, s.photos[0]))
    home = home or _home(segments)
    out: list[_Segment] = []
    for seg in segments:
        if not out:
            out.append(seg)
            continue
        cur = out[-1]
        gap_h = (seg.start - cur.end).total_seconds() / 3600
        km = _km(cur, seg)
        together = gap_h <= gap_hours
        if together and km is not None and km > jump_km and gap_h > 1:
            together = False  # a flight: a new moment at the other end
        if not together and gap_h <= trip_gap_hours and km is not None and km <= trip_km:
            together = home is None or float(haversine_km(home[0], home[1], seg.lat, seg.lon)) > away_km
        if together:
            out[-1] = _merge(cur, seg)
        else:
            out.append(seg)
    return [_moment(s) for s in out]


def _moment(s: _Segment) -> Moment:
    ranked = [k for k, _ in s.counts.most_common()]
    place = s.places.get(ranked[0]) if ranked else None
    mid = s.photos[len(s.photos) // 2] if s.cover_score == 0 else s.cover  # no scores: the middle photo
    ident = s.id or "m" + hashlib.sha1(s.photos[0].encode("utf-8")).hexdigest()[:12]
    title, title_zh = titles([s.places.get(k) for k in ranked[:2]], s.local_start, s.local_end, more=len(ranked) > 2)
    return Moment(id=ident, photos=s.photos, count=len(s.photos), start=s.local_start.isoformat(timespec="seconds"),
                  end=s.local_end.isoformat(timespec="seconds"), start_instant=s.start.isoformat(timespec="seconds"),
                  end_instant=s.end.isoformat(timespec="seconds"), cover=mid, cover_score=s.cover_score,
                  place=place, second_place=s.places.get(ranked[1]) if len(ranked) > 1 else None,
                  place_counts=dict(s.counts), places=ranked, center_lat=s.lat, center_lon=s.lon,
                  located=s.located, title=title, title_zh=title_zh)


def date_range(start: datetime, end: datetime, language: str = "en") -> str:
    """"12 May 2024", "12–14 May 2024", "30 May – 2 June 2024" / "2024年5月12日至14日"."""
    a, b = start.date(), end.date()
    if language != "en":
        if a == b:
            return f"{a.year}年{a.month}月{a.day}日"
        if (a.year, a.month) == (b.year, b.month):
            return f"{a.year}年{a.month}月{a.day}日至{b.day}日"
        if a.year == b.year:
            return f"{a.year}年{a.month}月{a.day}日至{b.month}月{b.day}日"
        return f"{a.year}年{a.month}月{a.day}日至{b.year}年{b.month}月{b.day}日"
    if a == b:
        return f"{a.day} {MONTHS[a.month - 1]} {a.year}"
    if (a.year, a.month) == (b.year, b.month):
        return f"{a.day}–{b.day} {MONTHS[a.month - 1]} {a.year}"
    if a.year == b.year:
        return f"{a.day} {MONTHS[a.month - 1]} – {b.day} {MONTHS[b.month - 1]} {a.year}"
    return f"{a.day} {MONTHS[a.month - 1]} {a.year} – {b.day} {MONTHS[b.month - 1]} {b.year}"


def titles(places: list[Place | None], start: datetime, end: datetime, *, more: bool = False) -> tuple[str, str]:
    """(English, Chinese) title: "Shanghai, 12–14 May 2024" / "上海，2024年5月12日至14日"."""
    from . import name_in

    def names(language: str) -> list[str]:
        out = []
        for p in places:
            if p is None:
                continue
            n = p.city or p.country or p.ocean
            text = name_in(n, language)
            if text and text not in out:
                out.append(text)
        return out

    en, zh = names("en"), names("zh")
    en_place = " and ".join(en) if not more else ", ".join(en) + " and more"
    zh_place = "、".join(zh) + ("等地" if more else "")
    en_title = f"{en_place}, {date_range(start, end)}" if en else date_range(start, end)
    zh_title = f"{zh_place}，{date_range(start, end, 'zh')}" if zh else date_range(start, end, "zh")
    return en_title, zh_title
