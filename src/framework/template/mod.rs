//! \[framework\] Vault's string-template language (`sdk/helper/template`): the subset of Go's
//! `text/template` that `username_template` and similar settings are written in.
//!
//! A template is parsed once into a tree ([`Template::parse`]) and rendered many times
//! against a flat map of fields ([`Template::render`]). Supported: text, `{{ .Field }}`,
//! string and integer literals, `true`/`false`, parenthesised sub-pipelines, pipelines
//! with `|` (the value becomes the last argument of the next call),
//! `{{ if }}`/`{{ else if }}`/`{{ else }}`/`{{ end }}`, trim markers `{{-`/`-}}` and
//! comments, and the functions listed in `funcs.rs`. Not supported (refused with a clear
//! error at parse time): variables, `range`, `with`, `define`/`template`/`block`,
//! chained fields beyond one level, floats and character literals.
//!
//! Maps: `{{ .Map.key }}` looks up the flat field `Map.key`. When the fields also hold
//! the marker `Map.` (see [`map_marker`]), `Map` is a map and a missing key renders as
//! the empty string, as a missing key of a Go `map[string]string` does; without the
//! marker it is an unknown field.
//!
//! Deliberate differences from Go: unknown functions, wrong argument counts and literals
//! used as functions are parse errors rather than execution errors; `truncate` never cuts
//! a multi-byte character in half; `timestamp` formats in UTC rather than the server's
//! zone; a value or output longer than [`MAX_VALUE_LEN`] is a rendering error. This
//! module knows nothing of AWS; the engine supplies the fields.

mod funcs;
mod go_fmt;
mod go_time;
mod lexer;
mod parser;
mod value;

use std::collections::HashMap;
use std::time::SystemTime;

pub use go_fmt::go_quote;

use funcs::Func;
use parser::{Command, Node, Operand, Pipeline};
use value::Value;

/// The longest value (and rendered output) a template may produce. Go has no limit, but
/// chained or nested calls grow geometrically (`hex` doubles, an empty `replace` pattern
/// multiplies), so without one a single line could exhaust memory; a megabyte is far
/// beyond any name or setting a template renders.
pub const MAX_VALUE_LEN: usize = 1 << 20;

/// A parsed template, ready to render any number of times. Cheap to clone and shareable
/// between threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    nodes: Vec<Node>,
}

impl Template {
    /// Parses `source`. Errors name the line and the problem, e.g.
    /// `line 1: function "foo" not defined`; an empty template is refused as in Vault.
    pub fn parse(source: &str) -> Result<Template, String> {
        if source.is_empty() {
            return Err("missing template".to_string());
        }
        let items = lexer::lex(source)?;
        let nodes = parser::parse(items)?;
        Ok(Template { nodes })
    }

    /// Renders with the current time for `unix_time`, `unix_time_millis` and `timestamp`.
    /// A field the template names but `fields` lacks is an error listing the fields that
    /// exist.
    pub fn render(&self, fields: &HashMap<&str, String>) -> Result<String, String> {
        self.render_at(fields, SystemTime::now())
    }

    /// Renders as if the time were `now` (one clock reading for the whole rendering, so
    /// every time function in a template agrees).
    pub fn render_at(
        &self,
        fields: &HashMap<&str, String>,
        now: SystemTime,
    ) -> Result<String, String> {
        let exec = Exec { fields, now };
        let mut out = String::new();
        exec.nodes(&self.nodes, &mut out)?;
        Ok(out)
    }
}

/// The field name that declares `map` a map whose keys are the fields `map.<key>`: a
/// missing key then renders empty instead of being an unknown field.
pub fn map_marker(map: &str) -> String {
    format!("{map}.")
}

/// One rendering.
struct Exec<'a> {
    fields: &'a HashMap<&'a str, String>,
    now: SystemTime,
}

impl Exec<'_> {
    fn nodes(&self, nodes: &[Node], out: &mut String) -> Result<(), String> {
        for node in nodes {
            match node {
                Node::Text(text) => out.push_str(text),
                Node::Output(pipeline) => {
                    out.push_str(&self.pipeline(pipeline)?.to_string());
                    if out.len() > MAX_VALUE_LEN {
                        return Err(format!(
                            "line {}: output exceeds the limit of {MAX_VALUE_LEN} bytes",
                            pipeline.line
                        ));
                    }
                }
                Node::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    let branch = if self.pipeline(cond)?.is_true() {
                        then
                    } else {
                        otherwise
                    };
                    self.nodes(branch, out)?;
                }
            }
        }
        Ok(())
    }

    fn pipeline(&self, pipeline: &Pipeline) -> Result<Value, String> {
        let mut piped: Option<Value> = None;
        for command in &pipeline.commands {
            let value = match command {
                Command::Value(operand) => self.operand(operand, pipeline.line)?,
                Command::Call(func, args) => self.call(*func, args, piped.take(), pipeline.line)?,
            };
            piped = Some(value);
        }
        // The parser never builds an empty pipeline; an empty string is the safe answer.
        Ok(piped.unwrap_or(Value::Str(String::new())))
    }

    fn call(
        &self,
        func: Func,
        args: &[Operand],
        piped: Option<Value>,
        line: usize,
    ) -> Result<Value, String> {
        if matches!(func, Func::And | Func::Or) {
            return self.and_or(func == Func::Or, args, piped, line);
        }
        let mut values = Vec::with_capacity(args.len() + 1);
        for arg in args {
            values.push(self.operand(arg, line)?);
        }
        values.extend(piped);
        let value = func
            .call(&values, self.now)
            .map_err(|e| format!("line {line}: error calling {}: {e}", func.name()))?;
        match &value {
            Value::Str(s) if s.len() > MAX_VALUE_LEN => Err(format!(
                "line {line}: error calling {}: result of {} bytes exceeds the limit of {MAX_VALUE_LEN} bytes",
                func.name(),
                s.len()
            )),
            _ => Ok(value),
        }
    }

    /// `and`/`or` stop evaluating at the first argument that decides the result, as in Go.
    fn and_or(
        &self,
        is_or: bool,
        args: &[Operand],
        piped: Option<Value>,
        line: usize,
    ) -> Result<Value, String> {
        let mut last = None;
        for arg in args {
            let value = self.operand(arg, line)?;
            if value.is_true() == is_or {
                return Ok(value);
            }
            last = Some(value);
        }
        Ok(piped.or(last).unwrap_or(Value::Bool(false)))
    }

    fn operand(&self, operand: &Operand, line: usize) -> Result<Value, String> {
        match operand {
            Operand::Field(name) => self.field(name, line),
            Operand::Str(s) => Ok(Value::Str(s.clone())),
            Operand::Int(i) => Ok(Value::Int(*i)),
            Operand::Bool(b) => Ok(Value::Bool(*b)),
            Operand::Call(func) => self.call(*func, &[], None, line),
            Operand::Sub(pipeline) => self.pipeline(pipeline),
        }
    }

    fn field(&self, name: &str, line: usize) -> Result<Value, String> {
        if let Some(value) = self.fields.get(name) {
            return Ok(Value::Str(value.clone()));
        }
        if let Some((map, _key)) = name.split_once('.')
            && self.fields.contains_key(map_marker(map).as_str())
        {
            return Ok(Value::Str(String::new()));
        }
        // Map keys are listed once, as `.Map.<key>`, through their marker.
        let mut known: Vec<String> = self
            .fields
            .keys()
            .filter(|k| !k.contains('.') || k.ends_with('.'))
            .map(|k| match k.strip_suffix('.') {
                Some(map) => format!("{map}.<key>"),
                None => k.to_string(),
            })
            .collect();
        known.sort_unstable();
        Err(format!(
            "line {line}: can't evaluate field {name} (available fields: {})",
            known
                .iter()
                .map(|k| format!(".{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

#[cfg(test)]
mod tests;
