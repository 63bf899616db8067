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
        // Each part fits a Duration but their sum may not (`9e18s9e18s`).
        total = total
            .checked_add(secs_to_duration(n * factor, s)?)
            .ok_or_else(|| format!("`{s}` is too long"))?;
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

/// Properties of the duration parser: what a person types is read exactly
/// or refused with a message, never a panic.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// `1h30m`-style text of any parts reads back as their sum.
        #[test]
        fn a_duration_written_in_units_reads_back_as_its_sum(
            d in 0..10_000u64, h in 0..100_000u64, m in 0..100_000u64, sec in 0..100_000u64, ms in 0..100_000u64
        ) {
            let text = format!("{d}d{h}h{m}m{sec}s{ms}ms");
            let expected = Duration::from_secs(d * 86_400 + h * 3600 + m * 60 + sec) + Duration::from_millis(ms);
            prop_assert_eq!(parse_duration(&text), Ok(expected));
            prop_assert_eq!(parse_duration(&format!("{sec}")), Ok(Duration::from_secs(sec)));
        }

        /// A total beyond what a `Duration` holds is refused as too long,
        /// whether one part or the sum of several is too large.
        #[test]
        fn a_duration_too_long_to_hold_is_refused(
            parts in proptest::collection::vec((u64::MAX / 4..=u64::MAX, "s|m|h|d"), 1..4)
        ) {
            let text: String = parts.iter().map(|(n, unit)| format!("{n}{unit}")).collect();
            let total: u128 = parts.iter().map(|(n, unit)| u128::from(*n) * match unit.as_str() {
                "s" => 1, "m" => 60, "h" => 3600, _ => 86_400,
            }).sum();
            // Read through f64: a little past u64::MAX seconds may round in.
            if total > u128::from(u64::MAX) + (1 << 12) {
                let refused = parse_duration(&text);
                prop_assert!(refused.as_ref().is_err_and(|e| e.contains("too long")), "{text}: {refused:?}");
            }
        }

        #[test]
        fn any_text_is_read_or_refused_without_a_panic(text in prop_oneof![
            any::<String>(),
            "[0-9.]{0,25}(ms|s|m|h|d|x|µs)?([0-9.]{0,25}(ms|s|m|h|d))*",
        ]) {
            let _ = parse_duration(&text);
            let _ = parse_duration_with_unit(&text, Duration::from_secs(60));
        }
    }

    #[test]
    fn a_sum_of_parts_past_the_longest_duration_is_refused_not_a_panic() {
        // Found by `a_duration_too_long_to_hold_is_refused`: each part fits,
        // their sum overflowed `Duration`'s `+=` and panicked.
        let refused = parse_duration("10000000000000000000s10000000000000000000s");
        assert!(refused.is_err_and(|e| e.contains("too long")));
    }
}
