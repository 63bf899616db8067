//! Durations as people type them in flags: `250ms`, `10s`, `2m`, `1h30m`.

use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

/// `250ms`, `10s`, `2m`, `1h`, `1m30s`, `1d`; a bare number means seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    parse_duration_with_unit(s, SECOND)
}

/// [`parse_duration`] where a bare number counts `bare_unit`s (the board's
/// thresholds are minutes).
pub fn parse_duration_with_unit(s: &str, bare_unit: Duration) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(n) = s.parse::<f64>() {
        return secs_to_duration(n * bare_unit.as_secs_f64(), s);
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{s}`: a number needs a unit (ms, s, m, h)"))?;
        if num_len == 0 {
            return Err(format!(
                "`{s}` is not a duration (e.g. 500ms, 10s, 2m, 1h30m)"
            ));
        }
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("`{num}` is not a number"))?;
        let factor = match unit {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hr" | "hrs" => 3600.0,
            "d" => 86_400.0,
            _ => return Err(format!("`{unit}` is not a unit (ms, s, m, h, d)")),
        };
        total += secs_to_duration(n * factor, s)?;
        rest = tail;
    }
    Ok(total)
}

fn secs_to_duration(secs: f64, original: &str) -> Result<Duration, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{original}` is not a duration"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{original}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_combinations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
    }

    #[test]
    fn bad_durations_are_refused() {
        for bad in ["", "s", "10x", "-1s", "ten seconds", "1m30", "ten"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bare_number_counts_the_given_unit() {
        let minute = Duration::from_secs(60);
        assert_eq!(
            parse_duration_with_unit("2", minute).unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(
            parse_duration_with_unit("90s", minute).unwrap(),
            Duration::from_secs(90)
        );
        assert!(parse_duration_with_unit("-2", minute).is_err());
    }
}
