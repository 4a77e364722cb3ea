//! An error as the binaries print it: its context chain on one line, each cause once (a
//! library error whose message already holds its source, `key file k: No such file…`, would
//! otherwise repeat it).

/// `e` and its causes, `: `-separated, leaving out a cause the text already ends with.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.is_empty() {
            out = text;
        } else if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::one_line;
    use anyhow::Context;

    #[test]
    fn a_cause_the_message_holds_is_said_once() {
        /// A library error whose message holds its source, as thiserror's `{source}` makes.
        #[derive(Debug)]
        struct Keyed {
            source: std::io::Error,
        }
        impl std::fmt::Display for Keyed {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "key file k: {}", self.source)
            }
        }
        impl std::error::Error for Keyed {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.source)
            }
        }
        let io = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = anyhow::Error::new(Keyed { source: io() });
        assert_eq!(one_line(&e), "key file k: entity not found");
        let e = Err::<(), _>(io()).context("reading k").unwrap_err();
        assert_eq!(one_line(&e), "reading k: entity not found");
    }
}
