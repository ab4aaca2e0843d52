//! Go's `time.Format` layouts (the reference time `Mon Jan 2 15:04:05 MST 2006`) for the
//! `timestamp` template function. Recognises the same layout elements, in the same
//! order of precedence, as Go's `nextStdChunk`; everything else is copied literally.
//! Vault formats in the server's local zone; we format in UTC, the usual zone of a
//! plugin process, so that output does not depend on the host's zone files.

use time::OffsetDateTime;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// One layout element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm,
    PmLower,
    Tz,
    /// Numeric zone; `iso` prints `Z` for UTC, `colon`/`seconds` select the shape.
    Zone {
        iso: bool,
        colon: bool,
        seconds: bool,
        short: bool,
    },
    /// Fractional seconds: separator, digit count, and whether trailing zeros are trimmed.
    Frac(char, usize, bool),
}

/// Formats `t` with a Go layout string.
pub(crate) fn format(layout: &str, t: OffsetDateTime) -> String {
    let mut out = String::new();
    let mut rest = layout;
    while let Some(c) = rest.chars().next() {
        match next_elem(rest) {
            Some((elem, len)) => {
                write_elem(&mut out, elem, t);
                rest = &rest[len..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// The layout element at the start of `s` and its length in bytes.
fn next_elem(s: &str) -> Option<(Elem, usize)> {
    let b = s.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let starts = |p: &str| s.starts_with(p);
    let zone = |iso, colon, seconds, short| Elem::Zone {
        iso,
        colon,
        seconds,
        short,
    };
    let found = match at(0) {
        b'J' if starts("January") => (Elem::LongMonth, 7),
        b'J' if starts("Jan") => (Elem::Month, 3),
        b'M' if starts("Monday") => (Elem::LongWeekDay, 6),
        b'M' if starts("Mon") => (Elem::WeekDay, 3),
        b'M' if starts("MST") => (Elem::Tz, 3),
        b'0' if starts("002") => (Elem::ZeroYearDay, 3),
        b'0' if (b'1'..=b'6').contains(&at(1)) => {
            let e = [
                Elem::ZeroMonth,
                Elem::ZeroDay,
                Elem::ZeroHour12,
                Elem::ZeroMinute,
                Elem::ZeroSecond,
                Elem::Year,
            ];
            (e[usize::from(at(1) - b'1')], 2)
        }
        b'1' if starts("15") => (Elem::Hour, 2),
        b'1' => (Elem::NumMonth, 1),
        b'2' if starts("2006") => (Elem::LongYear, 4),
        b'2' => (Elem::Day, 1),
        // "_2006" is a literal underscore followed by the year, as in Go.
        b'_' if starts("_2") && !starts("_2006") => (Elem::UnderDay, 2),
        b'_' if starts("__2") => (Elem::UnderYearDay, 3),
        b'3' => (Elem::Hour12, 1),
        b'4' => (Elem::Minute, 1),
        b'5' => (Elem::Second, 1),
        b'P' if starts("PM") => (Elem::Pm, 2),
        b'p' if starts("pm") => (Elem::PmLower, 2),
        b'-' | b'Z' => {
            let iso = at(0) == b'Z';
            let tail = &s[1..];
            if tail.starts_with("070000") {
                (zone(iso, false, true, false), 7)
            } else if tail.starts_with("07:00:00") {
                (zone(iso, true, true, false), 9)
            } else if tail.starts_with("0700") {
                (zone(iso, false, false, false), 5)
            } else if tail.starts_with("07:00") {
                (zone(iso, true, false, false), 6)
            } else if tail.starts_with("07") {
                (zone(iso, false, false, true), 3)
            } else {
                return None;
            }
        }
        sep @ (b'.' | b',') if at(1) == b'0' || at(1) == b'9' => {
            let digit = at(1);
            let mut j = 1;
            while at(j) == digit {
                j += 1;
            }
            if at(j).is_ascii_digit() {
                return None;
            }
            (Elem::Frac(char::from(sep), j - 1, digit == b'9'), j)
        }
        _ => return None,
    };
    Some(found)
}

fn write_elem(out: &mut String, elem: Elem, t: OffsetDateTime) {
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    let month = usize::from(u8::from(t.month())) - 1;
    let weekday = usize::from(t.weekday().number_days_from_monday());
    let text = match elem {
        Elem::LongMonth => MONTHS[month].to_string(),
        Elem::Month => MONTHS[month][..3].to_string(),
        Elem::NumMonth => (month + 1).to_string(),
        Elem::ZeroMonth => format!("{:02}", month + 1),
        Elem::LongWeekDay => WEEKDAYS[weekday].to_string(),
        Elem::WeekDay => WEEKDAYS[weekday][..3].to_string(),
        Elem::Day => t.day().to_string(),
        Elem::UnderDay => format!("{:>2}", t.day()),
        Elem::ZeroDay => format!("{:02}", t.day()),
        Elem::UnderYearDay => format!("{:>3}", t.ordinal()),
        Elem::ZeroYearDay => format!("{:03}", t.ordinal()),
        Elem::Hour => format!("{:02}", t.hour()),
        Elem::Hour12 => hour12.to_string(),
        Elem::ZeroHour12 => format!("{hour12:02}"),
        Elem::Minute => t.minute().to_string(),
        Elem::ZeroMinute => format!("{:02}", t.minute()),
        Elem::Second => t.second().to_string(),
        Elem::ZeroSecond => format!("{:02}", t.second()),
        Elem::LongYear => format!("{:04}", t.year()),
        Elem::Year => format!("{:02}", t.year().rem_euclid(100)),
        Elem::Pm => if t.hour() >= 12 { "PM" } else { "AM" }.to_string(),
        Elem::PmLower => if t.hour() >= 12 { "pm" } else { "am" }.to_string(),
        Elem::Tz => zone_abbreviation(t),
        Elem::Zone {
            iso,
            colon,
            seconds,
            short,
        } => zone_offset(t, iso, colon, seconds, short),
        Elem::Frac(sep, digits, trim) => fraction(t, sep, digits, trim),
    };
    out.push_str(&text);
}

fn zone_abbreviation(t: OffsetDateTime) -> String {
    if t.offset().is_utc() {
        return "UTC".to_string();
    }
    // Without a zone name Go prints the numeric offset in the "-0700" shape.
    zone_offset(t, false, false, false, false)
}

fn zone_offset(t: OffsetDateTime, iso: bool, colon: bool, seconds: bool, short: bool) -> String {
    let total = t.offset().whole_seconds();
    if iso && total == 0 {
        return "Z".to_string();
    }
    let sign = if total < 0 { '-' } else { '+' };
    let abs = total.unsigned_abs();
    let (h, m, s) = (abs / 3600, (abs / 60) % 60, abs % 60);
    let sep = if colon { ":" } else { "" };
    let mut text = format!("{sign}{h:02}");
    if !short {
        text.push_str(&format!("{sep}{m:02}"));
    }
    if seconds {
        text.push_str(&format!("{sep}{s:02}"));
    }
    text
}

fn fraction(t: OffsetDateTime, sep: char, digits: usize, trim: bool) -> String {
    let nanos = format!("{:09}", t.nanosecond());
    let mut frac = &nanos[..digits.min(9)];
    if trim {
        frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            return String::new();
        }
    }
    format!("{sep}{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_the_common_layouts() {
        let t = datetime!(2023-11-14 22:13:20.123456789 UTC);
        assert_eq!(
            format("2006-01-02T15:04:05.000Z", t),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            format("2006-01-02T15:04:05Z07:00", t),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            format("Mon Jan _2 15:04:05 MST 2006", t),
            "Tue Nov 14 22:13:20 UTC 2023"
        );
        assert_eq!(
            format("Monday, January 2, 06 3:4:5 PM -0700", t),
            "Tuesday, November 14, 23 10:13:20 PM +0000"
        );
        assert_eq!(format("20060102150405", t), "20231114221320");
    }

    #[test]
    fn handles_day_of_year_fractions_and_literals() {
        let t = datetime!(2024-02-03 04:05:06.5 UTC);
        assert_eq!(format("002 __2 _2", t), "034  34  3");
        assert_eq!(format("05.999|05.000000|05,0", t), "06.5|06.500000|06,5");
        assert_eq!(format("15.9999", datetime!(2024-02-03 04:05:06 UTC)), "04");
        assert_eq!(format("03 3 pm", t), "04 4 am");
        assert_eq!(format("_2006 vault", t), "_2024 vault");
        assert_eq!(format("é-07:00", t), "é+00:00");
    }

    #[test]
    fn prints_non_utc_offsets() {
        let t = datetime!(2024-02-03 04:05:06 +05:30);
        assert_eq!(format("-07:00 Z0700 -07 MST", t), "+05:30 +0530 +05 +0530");
    }
}
