"""Dates as writers give them: a year, a year and month, or a full day.

`parse_date` keeps the precision, so "2018" is never shown as 1 January 2018,
and refuses impossible days such as 2018-02-30.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_DATE_FORM = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]


@dataclass(frozen=True, order=True)
class PartialDate:
    """A date known to the year, month or day; sorts by its earliest possible day."""

    year: int
    month: int = 0
    day: int = 0

    @property
    def precision(self) -> str:
        return "day" if self.day else "month" if self.month else "year"

    def iso(self) -> str:
        """The machine-readable form for `<time datetime>`: 2018, 2018-07 or 2018-07-10."""
        if self.day:
            return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        if self.month:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}"

    def human(self) -> str:
        """The reader's form: 2018, July 2018 or 10 July 2018."""
        if self.day:
            return f"{self.day} {_MONTHS[self.month - 1]} {self.year}"
        if self.month:
            return f"{_MONTHS[self.month - 1]} {self.year}"
        return str(self.year)

    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month or 1, self.day or 1)

    def last_day(self) -> dt.date:
        if self.day:
            return self.first_day()
        if self.month:
            return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])
        return dt.date(self.year, 12, 31)


def parse_date(text: str) -> PartialDate:
    """Parse YYYY, YYYY-MM or YYYY-MM-DD; ValueError says what is wrong."""
    match = _DATE_FORM.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a date; write YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = (int(part) if part else 0 for part in match.groups())
    if year < 1:
        raise ValueError(f"'{text}' has no year 0 (years run from 0001 to 9999)")
    if match.group(2) and not 1 <= month <= 12:
        raise ValueError(f"'{text}' has no month {month}")
    if match.group(3):
        try:
            dt.date(year, month, day)
        except ValueError:
            raise ValueError(f"'{text}' is not a real day ({_MONTHS[month - 1]} has no day {day})") from None
    return PartialDate(year, month, day)
