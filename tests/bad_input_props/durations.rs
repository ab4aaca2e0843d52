//! Go durations: `Duration.String()` text parses back exactly; arbitrary text is a
//! duration or an error in Go's words; structured JSON is never a duration.

use super::*;

proptest! {
    #![proptest_config(config(1024))]

    /// Go's `Duration.String()` text parses back to the same nanoseconds, for every i64.
    #[test]
    fn go_duration_text_round_trips(nanos in prop_oneof![
        any::<i64>(),
        -1_000_000_000_000i64..1_000_000_000_000,
        prop::sample::select(vec![0i64, 1, -1, 999, 1_000, 999_999, 1_000_000, i64::MAX, i64::MIN]),
    ]) {
        let text = format_go_duration(nanos);
        prop_assert_eq!(parse_go_duration(&text), Ok(nanos), "{}", text);
    }

    /// Arbitrary text is a duration or a Go `time:`/`strconv.` error quoting the input;
    /// `parse_duration_second` agrees with its string form for every JSON scalar.
    #[test]
    fn duration_text_parses_or_fails_with_go_wording(s in text()) {
        match parse_go_duration(&s) {
            Ok(_) => {}
            Err(message) => prop_assert!(
                message.starts_with("time: ") && !message.trim_end().ends_with(':'),
                "{:?} -> {:?}", s, message
            ),
        }
        match parse_duration_second(&Value::String(s.clone())) {
            Ok(_) => {}
            Err(message) => prop_assert!(
                message.starts_with("time: ") || message.starts_with("strconv.ParseInt: "),
                "{:?} -> {:?}", s, message
            ),
        }
    }

    /// Non-scalar JSON is never a duration, and says so.
    #[test]
    fn structured_json_is_not_a_duration(value in json_value()) {
        if matches!(value, Value::Bool(_) | Value::Array(_) | Value::Object(_)) {
            prop_assert_eq!(
                parse_duration_second(&value),
                Err("could not parse duration from input".to_string())
            );
        } else {
            // Scalars behave as their text does.
            let text = match &value {
                Value::Null => String::new(),
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => unreachable!("filtered above"),
            };
            let as_text = parse_duration_second(&Value::String(text));
            prop_assert_eq!(parse_duration_second(&value), as_text);
        }
    }
}
