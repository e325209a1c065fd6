"""Arguments taken from the conversation: the values a model would copy out of the text it was given.

When the simulated model calls a tool nobody scripted, fills a forced extraction tool, or answers with
`output_config.format`, each field of the schema gets a value found in the conversation's text, chosen by
the field's type, format and name:

- enum fields: the enum value that occurs in the text (a sentiment or priority enum also reads the mood
  and urgency words); otherwise the first value;
- numbers and integers: the number written next to a word of the field's name ("5 seats", "aged 36",
  "price: $19.99"), else the next number of the text not used yet; clamped to the schema's bounds;
- dates (`format: date`, or a field named like a date): the first date written as ISO, "March 14, 2026" or
  "14 March 2026", as ISO; e-mails, URLs and phone numbers by their shape;
- names: a person's name (two or three capitalised words) for `name`, `author`, `customer` ...; a company
  for `company` / `organization`; a place after "in"/"at"/"from"/"to" for `city` / `location`; free-text
  fields (`query`, `text`, `summary` ...) get the request itself; other strings the phrase written after
  the field's name ("title: ...") or a proper noun;
- booleans: true when a word of the field's name occurs in the text without a "not"/"no" before it;
- arrays: the enum values or the names that occur; objects: field by field.

Every field is checked against its own schema, and a value that does not fit falls back to
`structured.sample`, so the result always validates. Deterministic: same text, same values.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import Any

from . import structured

_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"]
_MONTH_RE = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MDY = re.compile(rf"\b({_MONTH_RE})\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)
_DMY = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\s*,?\s+(\d{{4}})\b", re.I)
_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"https?://[^\s)\"'<>]+")
_PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().-]{6,}\d(?![\w])")
_NUMBER = re.compile(r"(?<![\w.])-?\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w])")
_CAP_WORD = r"[A-Z][a-zA-Z'\-]+"
_PERSON = re.compile(rf"\b({_CAP_WORD}(?:\s+(?:[A-Z]\.\s*)?{_CAP_WORD}){{1,2}})\b")
_COMPANY = re.compile(rf"\b((?:{_CAP_WORD}\s+){{0,3}}(?:Inc|Ltd|LLC|Corp|Corporation|GmbH|Co|Company|Labs|Group|"
                      rf"Systems|Technologies)\b\.?)")
_PLACE = re.compile(rf"\b(?:in|at|from|to|near|for)\s+((?:{_CAP_WORD})(?:\s+{_CAP_WORD})?)")
_QUOTED = re.compile(r"[\"\u201c]([^\"\u201d]{1,80})[\"\u201d]")
#: capitalised words that are not names
_NOT_NAMES = frozenset(
    """a an the i i'm i've it its this that these those he she we they you your my our their his her what which
    who when where why how please can could would should will is are was were do does did hello hi dear thanks
    thank yes no not and or but if then so also extract find look get tell give show list use call send write
    summarize summarise classify record save create make compute calculate add subtract multiply divide
    monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday json note""".split()
    + _MONTHS)

_PERSON_FIELDS = re.compile(r"(^|_)(name|full_?name|person|author|customer|contact|assignee|owner|sender|"
                            r"recipient|employee|patient|user|speaker|attendee|candidate|client|reviewer|"
                            r"manager|guest|passenger|student|buyer|seller)$")
_COMPANY_FIELDS = re.compile(r"company|organi[sz]ation|(^|_)org$|employer|vendor|business|merchant|brand")
_PLACE_FIELDS = re.compile(r"city|location|place|country|destination|origin|region|town|venue|airport")
_DATE_FIELDS = re.compile(r"date|(^|_)day$|deadline|(^|_)due|birthday|(^|_)dob$|(^|_)when$")
_FREE_FIELDS = re.compile(r"query|question|text|prompt|topic|summary|description|content|message|body|notes?$|"
                          r"reason|request|input|instructions?|q$")
_POSITIVE = re.compile(r"\b(love|loved|great|excellent|happy|good|amazing|wonderful|fantastic|perfect|thanks|"
                       r"pleased|delighted|recommend)\b", re.I)
_NEGATIVE = re.compile(r"\b(hate|hated|terrible|awful|bad|poor|broken|angry|disappointed|worst|refund|never|"
                       r"unacceptable|useless|late|damaged|complain\w*)\b", re.I)
_URGENT = re.compile(r"\b(urgent|asap|immediately|critical|emergency|right away|outage|down)\b", re.I)


@functools.lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    """IANA zone names by their city part, lower-cased ("auckland" -> "Pacific/Auckland"), and by full name."""
    out: dict[str, str] = {}
    for zone in sorted(zoneinfo.available_timezones()):
        if "/" in zone and not zone.startswith(("Etc/", "SystemV/", "US/", "Canada/", "Brazil/", "Mexico/", "Chile/")):
            out.setdefault(zone.rsplit("/", 1)[1].lower(), zone)
        out[zone] = zone
    return out


def words_of(name: str) -> list[str]:
    """The words of a field name: `numSeats` and `num_seats` -> ["num", "seats"]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[\s_\-.]+", spaced.lower()) if w]


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def dates(text: str) -> list[str]:
    """Every date in `text`, as ISO `YYYY-MM-DD`, in the order written."""
    return [d for _, d in dated(text)]


def dated(text: str) -> list[tuple[int, str]]:
    """(position, ISO date) for every date in `text`, in the order written."""
    found: list[tuple[int, str]] = []
    for m in _ISO_DATE.finditer(text):
        found.append((m.start(), m.group(0)))
    for m in _MDY.finditer(text):
        month = _month(m.group(1))
        if month:
            found.append((m.start(), f"{m.group(3)}-{month:02d}-{int(m.group(2)):02d}"))
    for m in _DMY.finditer(text):
        month = _month(m.group(2))
        if month:
            found.append((m.start(), f"{m.group(3)}-{month:02d}-{int(m.group(1)):02d}"))
    return sorted(found)


def _month(word: str) -> int | None:
    w = word.lower().rstrip(".")[:3]
    for i, name in enumerate(_MONTHS):
        if name.startswith(w):
            return i + 1
    return None


def _date_spans(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for r in (_ISO_DATE, _MDY, _DMY) for m in r.finditer(text)]
    spans += [m.span() for m in _EMAIL.finditer(text)] + [m.span() for m in _URL.finditer(text)]
    return spans


def numbers(text: str) -> list[tuple[int, float, str]]:
    """(position, value, as written) for every number in `text` outside dates, e-mails and URLs."""
    skip = _date_spans(text)
    out = []
    for m in _NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in skip):
            continue
        written = m.group(0)
        value = float(written.replace("$", "").replace(",", ""))
        out.append((m.start(), value, written))
    return out


def person_names(text: str) -> list[str]:
    """Names of people: two or three capitalised words in a row that are not ordinary words."""
    out: list[str] = []
    for m in _PERSON.finditer(text):
        parts = m.group(1).split()
        while parts and parts[0].lower().strip(".") in _NOT_NAMES:
            parts = parts[1:]
        if len(parts) >= 2 and not any(p.lower() in _NOT_NAMES for p in parts) and not _COMPANY.fullmatch(
                " ".join(parts)):
            name = " ".join(parts)
            if name not in out:
                out.append(name)
    return out


def proper_nouns(text: str) -> list[str]:
    """Capitalised words (and runs of them) that are not at the start of a sentence, plus quoted strings."""
    out: list[str] = [q.strip() for q in _QUOTED.findall(text)]
    for m in re.finditer(rf"{_CAP_WORD}(?:\s+{_CAP_WORD})*", text):
        before = text[:m.start()].rstrip()
        words = m.group(0).split()
        if not before or before[-1] in ".!?:\n":  # sentence start: a capital says nothing
            words = words[1:]
        words = [w for w in words if w.lower() not in _NOT_NAMES]
        if words:
            noun = " ".join(words)
            if noun not in out:
                out.append(noun)
    return out


def _near(text: str, name: str) -> list[tuple[int, float, str]]:
    """Numbers written next to a word of the field's name: "5 seats", "seats: 5", "aged 36"."""
    found = []
    for word in words_of(name):
        if len(word) < 3:
            continue
        stem = re.escape(_stem(word))
        after = re.compile(rf"\b{stem}\w*\s*(?:is|was|are|of|:|=|at|to|about|around)?\s*(?:of\s+)?"
                           r"(-?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(?![\w])", re.I)
        before = re.compile(r"(?<![\w.])(-?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s+(?:[a-z]+\s+)?"
                            rf"{stem}\w*\b", re.I)
        for r in (before, after):
            for m in r.finditer(text):
                written = m.group(1)
                found.append((m.start(1), float(written.replace("$", "").replace(",", "")), written))
    return sorted(found)


class _Picker:
    """Hands out values found in one text, so two numeric fields do not both take the first number."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.used: set[int] = set()
        self._numbers = numbers(text)
        self._people = person_names(text)
        self._nouns = proper_nouns(text)
        self._dates = dated(text)

    def number(self, name: str, schema: dict[str, Any], integer: bool) -> int | float | None:
        candidates = _near(self.text, name) if name else []
        money = bool(re.search(r"price|cost|amount|total|fee|salary|budget|revenue|usd|dollars", name.lower()))
        if money:
            candidates += [n for n in self._numbers if n[2].startswith("$")]
        if re.search(r"year", name.lower()):
            candidates += [n for n in self._numbers if 1900 <= n[1] <= 2100 and n[1] == int(n[1])]
        candidates += self._numbers
        for pos, value, _ in candidates:
            if pos in self.used or (integer and value != int(value)):
                continue
            if not _in_bounds(value, schema):
                continue
            self.used.add(pos)
            return int(value) if integer else value
        return None

    def string(self, name: str, schema: dict[str, Any]) -> str | None:
        low = name.lower()
        fmt = schema.get("format")
        if fmt == "email" or "email" in low or low.endswith("mail"):
            m = _EMAIL.search(self.text)
            return m.group(0) if m else None
        if fmt in ("uri", "url") or re.search(r"url|link|website|homepage", low):
            m = _URL.search(self.text)
            return m.group(0) if m else None
        if fmt in ("date", "date-time") or _DATE_FIELDS.search(low):
            day = self._date(name)
            if day is None:
                return None
            return day + ("T00:00:00Z" if fmt == "date-time" else "")
        if re.search(r"(^|_)(tz|timezone|time_zone|zone)$", low) or re.search(
                r"\b(iana|time ?zone)\b", str(schema.get("description", "")), re.I):
            return self._timezone()
        if re.search(r"phone|mobile|(^|_)tel", low):
            m = _PHONE.search(self.text)
            return m.group(0).strip() if m else None
        if _PERSON_FIELDS.search(low) or low in ("name", "who"):
            if not self._people:
                return self._nouns[0] if self._nouns and low in ("name", "who") else None
            if low.startswith("first"):
                return self._people[0].split()[0]
            if low.startswith("last") or low.startswith("sur"):
                return self._people[0].split()[-1]
            return self._people[0]
        if _COMPANY_FIELDS.search(low):
            m = _COMPANY.search(self.text)
            if m:
                return m.group(1).strip()
            return self._other_noun()
        if _PLACE_FIELDS.search(low):
            m = _PLACE.search(self.text)
            if m and m.group(1).lower() not in _NOT_NAMES:
                return m.group(1)
            return self._other_noun()
        if _FREE_FIELDS.search(low):
            return self.text.strip()[:500] or None
        labelled = self._labelled(name)
        if labelled:
            return labelled
        return self._nouns[0] if self._nouns else None

    def _timezone(self) -> str | None:
        """The IANA zone of the first place the text names ("Auckland" -> "Pacific/Auckland"), as a model would
        write it; a zone written out in the text wins."""
        written = re.search(r"\b[A-Z][a-z]+/[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_]+)?\b", self.text)
        if written and written.group(0) in _zones():
            return written.group(0)
        places = [m.group(1) for m in _PLACE.finditer(self.text)] + self._nouns
        for place in places:
            zone = _zones().get(place.lower().replace(" ", "_"))
            if zone is not None:
                return zone
        return "UTC" if re.search(r"\butc\b|\bgmt\b", self.text, re.I) else None

    def _other_noun(self) -> str | None:
        """A proper noun that is not (part of) a person's name."""
        return next((n for n in self._nouns if not any(n in person for person in self._people)), None)

    def _date(self, name: str) -> str | None:
        """The date written closest after a word of the field's name ("due 2026-04-01"), else the first unused."""
        free = [(pos, d) for pos, d in self._dates if pos not in self.used]
        if not free:
            return None
        best = None
        for word in words_of(name):
            if len(word) < 3 or word == "date":
                continue
            for m in re.finditer(rf"\b{re.escape(_stem(word))}\w*", self.text, re.I):
                after = [(pos - m.end(), pos, d) for pos, d in free if 0 <= pos - m.end() <= 40]
                if after and (best is None or min(after)[0] < best[0]):
                    best = min(after)
        pos, day = (best[1], best[2]) if best else free[0]
        self.used.add(pos)
        return day

    def _labelled(self, name: str) -> str | None:
        """The phrase written after the field's name: "title: Q3 report" -> "Q3 report"."""
        label = r"[\s_-]*".join(re.escape(w) for w in words_of(name))
        if not label:
            return None
        m = re.search(rf"\b{label}\b\s*(?:is|was|:|=|-)\s*[\"']?([^\n\"'.;,]{{1,80}})", self.text, re.I)
        return m.group(1).strip() if m else None

    def people(self) -> list[str]:
        return list(self._people)

    def nouns(self) -> list[str]:
        return list(self._nouns)


def _in_bounds(value: float, schema: dict[str, Any]) -> bool:
    if "minimum" in schema and value < schema["minimum"]:
        return False
    if "maximum" in schema and value > schema["maximum"]:
        return False
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        return False
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        return False
    return True


def enum_value(options: list[Any], text: str, name: str = "", *, default: bool = True) -> Any:
    """The enum value the text names (first written wins), a mood or urgency read from the text, else the first
    (or None when `default` is false)."""
    found = []
    for option in options:
        if not isinstance(option, str):
            continue
        pattern = r"\b" + re.escape(option).replace(r"_", r"[\s_-]").replace(r"\-", r"[\s_-]") + r"\b"
        m = re.search(pattern, text, re.I)
        if m:
            found.append((m.start(), option))
    if found:
        return min(found)[1]
    lowered = {str(o).lower(): o for o in options}
    if {"positive", "negative"} & set(lowered):
        pos, neg = len(_POSITIVE.findall(text)), len(_NEGATIVE.findall(text))
        key = "positive" if pos > neg else "negative" if neg > pos else "neutral"
        if key in lowered:
            return lowered[key]
    if {"high", "low", "urgent", "critical"} & set(lowered) and _URGENT.search(text):
        for key in ("urgent", "critical", "high"):
            if key in lowered:
                return lowered[key]
    return options[0] if default else None


def fill(schema: Any, text: str, *, required_only: bool = False) -> Any:
    """A value for `schema` whose fields come from `text` where the text has them (see the module docstring).

    Always valid against `schema`: a field the text cannot fill, or fills wrongly, gets `structured.sample`'s
    value instead (and when the whole still does not validate, the sample is returned)."""
    if not isinstance(schema, dict):
        return {}
    picker = _Picker(text)
    value = _fill(schema, picker, name="", root=schema, required_only=required_only, depth=0)
    if value is not None and structured.conforms(value, schema) is None:
        return value
    return structured.sample(schema, text, required_only=required_only, fill_arrays=not required_only)


def _fill(schema: Any, picker: _Picker, *, name: str, root: dict[str, Any], required_only: bool, depth: int) -> Any:
    """The value the text gives for `schema`, or None when it gives none (the caller decides: a sample for a
    required field, nothing for an optional one)."""
    if not isinstance(schema, dict) or depth > 12:
        return None
    schema = structured._resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return enum_value(list(schema["enum"]), picker.text, name, default=False)
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = [o for o in schema[key] if not (isinstance(o, dict) and o.get("type") == "null")]
            if options:
                return _fill(options[0], picker, name=name, root=root, required_only=required_only,
                             depth=depth + 1)
            return None
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        props = schema.get("properties") or {}
        required = list(schema.get("required") or [])
        out: dict[str, Any] = {}
        for prop in props if not required_only else required:
            sub = structured._resolve(props[prop], root) if isinstance(props[prop], dict) else {}
            value = _fill(sub, picker, name=prop, root=root, required_only=required_only, depth=depth + 1)
            if value is None and prop not in required:
                continue  # an optional field the text says nothing about stays out, as a model would leave it
            if value is None and sub.get("type") == "boolean":
                value = False  # a yes/no the text never mentions
            if value is None or structured.conforms(value, {**sub, "$defs": root.get("$defs", {})}) is not None:
                value = structured.sample(sub, picker.text, name=prop, root=root, required_only=required_only,
                                          fill_arrays=not required_only)
            out[prop] = value
        return out
    if kind == "array":
        items = schema.get("items") or {}
        items = structured._resolve(items, root) if isinstance(items, dict) else {}
        found: list[Any] = []
        if items.get("enum"):
            found = [o for o in items["enum"] if isinstance(o, str) and re.search(
                r"\b" + re.escape(o).replace("_", "[\\s_-]") + r"\b", picker.text, re.I)]
        elif items.get("type") == "string" and re.search(r"name|people|person|author|attendee|participant",
                                                         name.lower()):
            found = picker.people()
        elif items.get("type") == "string" and items.get("format") == "date":
            found = [d for _, d in picker._dates]
        elif items.get("type") == "object" and not required_only:
            found = [_fill(items, picker, name=name, root=root, required_only=required_only, depth=depth + 1)]
        low, high = schema.get("minItems", 0), schema.get("maxItems")
        if high is not None:
            found = found[:high]
        return found if found and len(found) >= low else None
    if kind == "string":
        value = picker.string(name, schema)
        if value is None:
            return None
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if high is not None:
            value = value[:high]
        return value if len(value) >= low else None
    if kind in ("integer", "number"):
        return picker.number(name, schema, integer=kind == "integer")
    if kind == "boolean":
        hit = None
        for word in words_of(name):
            if word in ("is", "has", "was", "needs", "should", "can") or len(word) < 3:
                continue
            m = re.search(rf"(\b(?:not|no|never|n't|without)\s+(?:\w+\s+)?)?\b{re.escape(_stem(word))}\w*", picker.text,
                          re.I)
            if m:
                hit = m.group(1) is None
                break
        return hit
    return None
