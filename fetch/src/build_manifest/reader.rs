//! Reading a build manifest's lines after the first: the state between lines (the include
//! table, the records so far, where the current record began) and the rules each kind of line
//! follows.

use super::table::read_ranges;
use super::text::{check_new_output, number, parse_edge, parse_include, parse_log, parse_output};
use super::{EdgeRecord, IncludeHash, Limits, ParseError, Reason};
use std::sync::Arc;

/// A manifest being read, line by line.
pub(super) struct Reader<'l> {
    limits: &'l Limits,
    table: Vec<Arc<IncludeHash>>,
    /// The records so far.
    pub(super) records: Vec<EdgeRecord>,
    /// Line of the current record's `edge` line: an edge without outputs is reported there.
    edge_line: usize,
    /// Whether the current record had its `inc` line.
    has_includes: bool,
}

impl<'l> Reader<'l> {
    /// A reader before the first line after the header.
    pub(super) fn new(limits: &'l Limits) -> Reader<'l> {
        Reader {
            limits,
            table: Vec::new(),
            records: Vec::new(),
            edge_line: 0,
            has_includes: false,
        }
    }

    /// Reads line `n`; `Ok(true)` when it was the `end` line and the count matched.
    pub(super) fn line(&mut self, n: usize, line: &str) -> Result<bool, ParseError> {
        let current = self.records.len().checked_sub(1);
        let err = |record, line, reason| ParseError {
            record,
            line,
            reason,
        };
        let at = |r| err(current, n, r);
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        let limits = self.limits;
        match kind {
            "edge" | "end" => {
                if let Some(i) = current.filter(|&i| self.records[i].outputs.is_empty()) {
                    return Err(err(Some(i), self.edge_line, Reason::NoOutputs));
                }
                if kind == "end" {
                    let declared = number(rest, "record count").map_err(|r| err(None, n, r))?;
                    let found = self.records.len();
                    if declared != found as u64 {
                        return Err(err(None, n, Reason::CountMismatch { declared, found }));
                    }
                    return Ok(true);
                }
                let i = self.records.len();
                if i >= limits.max_records {
                    let r = Reason::TooManyRecords(limits.max_records);
                    return Err(err(Some(i), n, r));
                }
                let rec = parse_edge(rest, limits).map_err(|r| err(Some(i), n, r))?;
                self.records.push(rec);
                self.edge_line = n;
                self.has_includes = false;
            }
            "out" => {
                let rec = current
                    .map(|i| &mut self.records[i])
                    .ok_or_else(|| at(Reason::OutputBeforeEdge))?;
                if rec.outputs.len() >= limits.max_outputs {
                    return Err(at(Reason::TooManyOutputs(limits.max_outputs)));
                }
                let o = parse_output(rest, limits).map_err(at)?;
                check_new_output(&rec.outputs, &o).map_err(at)?;
                rec.outputs.push(o);
            }
            "log" => {
                let rec = current
                    .map(|i| &mut self.records[i])
                    .ok_or_else(|| at(Reason::LogBeforeEdge))?;
                parse_log(rest, rec).map_err(at)?;
            }
            "inc" => {
                let i = current.ok_or_else(|| at(Reason::IncludeBeforeEdge))?;
                if std::mem::replace(&mut self.has_includes, true) {
                    return Err(at(Reason::Repeated("include list")));
                }
                self.records[i].includes = read_ranges(rest, &self.table, limits).map_err(at)?;
            }
            "hdr" => {
                if current.is_some() {
                    return Err(at(Reason::HeaderAfterEdge));
                }
                if self.table.len() >= limits.max_headers {
                    return Err(at(Reason::TooManyHeaders(limits.max_headers)));
                }
                self.table
                    .push(Arc::new(parse_include(rest, limits).map_err(at)?));
            }
            other => {
                let kind = other.chars().take(40).collect();
                return Err(at(Reason::UnknownLine(kind)));
            }
        }
        Ok(false)
    }
}
