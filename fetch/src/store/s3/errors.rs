//! What `object_store`'s errors say: their chain read for an error of a type, the HTTP
//! status and S3's error code (the innermost cause: `super::http::innermost`).

/// The first error of type `T` in the chain of `e`.
pub(super) fn find<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur = Some(e);
    while let Some(c) = cur {
        if let Some(t) = c.downcast_ref::<T>() {
            return Some(t);
        }
        cur = c.source();
    }
    None
}

/// Every message of the chain, joined: `object_store` puts the status and S3's XML there.
pub(super) fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

/// The HTTP status `object_store` reports as `… status code: 503 Service Unavailable …`.
pub(super) fn status_code(text: &str) -> Option<u16> {
    let at = text.find("status code: ")? + "status code: ".len();
    text.get(at..at + 3)?.parse().ok()
}

/// `status` followed by S3's error code (`<Code>SignatureDoesNotMatch</Code>`) if there is one.
pub(super) fn with_s3_code(status: &str, text: &str) -> String {
    let code = text
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(c, _)| c)
        .filter(|c| !c.is_empty() && c.len() < 64);
    match code {
        Some(c) => format!("{status}, {c}"),
        None => status.to_string(),
    }
}
