//! `names!(a, b, c)` expands to a `match` from each name to its position. The arms come out of
//! a `HashMap` in its (per-process random) iteration order, so two compiles of a dependent
//! crate differ in their bytes unless one is served from the cache.
use proc_macro::TokenStream;
use std::collections::HashMap;

#[proc_macro]
pub fn names(input: TokenStream) -> TokenStream {
    let list: Vec<String> = input
        .to_string()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let positions: HashMap<String, usize> =
        list.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
    let mut arms = String::new();
    for (name, pos) in &positions {
        arms.push_str(&format!("{name:?} => Some({pos}),\n"));
    }
    format!("pub fn position(name: &str) -> Option<usize> {{ match name {{ {arms} _ => None }} }}")
        .parse()
        .unwrap()
}
