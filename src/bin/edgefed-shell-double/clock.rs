//! The double's simulated clock: seconds since 1970-01-01T00:00:00Z,
//! written as PowerShell's round-trip format `(Get-Date).ToString('o')`
//! gives a UTC time (`2026-12-01T21:00:00.0000000Z`).

/// 2026-12-01T21:00:00Z, where every state file's clock starts.
pub const START: i64 = 1_796_158_800;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// `secs` in the round-trip format, UTC.
pub fn iso(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.0000000Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Reads `yyyy-MM-ddTHH:mm:ss[.fffffff][Z]` (what `[datetime]` accepts of
/// the round-trip format); `None` for anything else.
pub fn parse(text: &str) -> Option<i64> {
    let t = text.trim().trim_end_matches('Z');
    let (date, time) = t.split_once('T')?;
    let mut dp = date.split('-').map(str::parse::<i64>);
    let (y, m, d) = (dp.next()?.ok()?, dp.next()?.ok()?, dp.next()?.ok()?);
    let time = time.split('.').next()?;
    let mut tp = time.split(':').map(str::parse::<i64>);
    let (h, mi, s) = (tp.next()?.ok()?, tp.next()?.ok()?, tp.next()?.ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        assert_eq!(super::iso(super::START), "2026-12-01T21:00:00.0000000Z");
        assert_eq!(super::parse("2026-12-01T21:00:00.0000000Z"), Some(super::START));
        assert_eq!(super::parse("0001-01-01T00:00:00Z").map(|s| s < 0), Some(true));
        assert_eq!(super::parse("12/1/2026 9:00 PM"), None);
    }
}
