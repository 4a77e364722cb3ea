//! The text form of an explanation (`--json` prints the same fields as one object).

use super::compare::{Difference, Explained};

/// The explanation as lines of text.
pub fn text(e: &Explained) -> String {
    let mut t = format!("{}\n  last launch: {}\n", e.output, e.origin);
    if e.asked_pull {
        t.push_str("  asked the running pull for this object (it was not in the cache yet)\n");
    }
    let key = |k: &Option<String>| k.clone().unwrap_or_else(|| "-".to_string());
    t.push_str(&format!("  source key:  {}\n", key(&e.source_key)));
    t.push_str(&format!("  action key:  {}\n", key(&e.action_key)));
    if let Some(r) = &e.reason {
        t.push_str(&format!("  uncacheable: {} ({})\n", r.name, r.text));
    }
    for p in &e.problems {
        t.push_str(&format!("  problem:     {} ({})\n", p.name, p.text));
    }
    if let Some(c) = &e.compared_with {
        t.push_str(&format!(
            "  compared with {}: source key {}, action key {}\n",
            c.what, c.source_key, c.action_key
        ));
    }
    if let Some(d) = &e.difference {
        t.push_str(&format!("  first difference: {}\n", sentence(d)));
        let side = |v: &Option<String>| match v {
            None => "(absent)".to_string(),
            Some(v) if TEXT_FIELDS.contains(&d.field.as_str()) => format!("{v:?}"),
            Some(v) => v.clone(),
        };
        let name = d.name.as_ref().map_or(String::new(), |n| format!(" {n:?}"));
        t.push_str(&format!("    - {}{name}: {}\n", d.field, side(&d.before)));
        t.push_str(&format!("    + {}{name}: {}\n", d.field, side(&d.after)));
    }
    if let Some(n) = &e.note {
        t.push_str(&format!("  note: {n}\n"));
    }
    t
}

/// Fields whose values are text (printed quoted, as the key's explanation prints them).
const TEXT_FIELDS: &[&str] = &["arg", "env", "prefix-map", "source", "lang"];

/// The difference in words.
fn sentence(d: &Difference) -> String {
    let name = d
        .name
        .as_deref()
        .map_or(String::new(), |n| format!("{n:?}"));
    let (b, a) = (d.before.as_deref(), d.after.as_deref());
    match (d.field.as_str(), b, a) {
        ("arg", None, Some(a)) => format!("argument {a:?} was added"),
        ("arg", Some(b), None) => format!("argument {b:?} was removed"),
        ("arg", Some(b), Some(a)) => format!("argument {b:?} is now {a:?}"),
        ("include", Some(_), Some(_)) => format!("header {name} has other content"),
        ("include", None, Some(_)) => format!("header {name} is read now, not by the record"),
        ("include", Some(_), None) => format!("header {name} is not read now"),
        ("compiler", _, _) => "the compiler's identity (its bytes, target or version)".to_string(),
        ("source-content", _, _) => "the source's bytes".to_string(),
        ("env", _, _) => format!("environment variable {name}"),
        (field, _, _) => format!("{field} {name}").trim_end().to_string(),
    }
}
