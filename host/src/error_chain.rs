//! An error and its causes as one line, for report fields that must stay
//! one line (a run's status, a refusal in `--json`).

/// `outer: cause: root cause`; a cause is left out when the message above
/// already contains it.
pub fn one_line(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
