//! Builds the syntax tree of a template from the lexer's items: text, output actions and
//! `if`/`else if`/`else`/`end` blocks, each action a pipeline of commands. Everything
//! Go would only notice while executing but that is visible in the text (unknown
//! functions, wrong argument counts, literals used as functions, unbalanced blocks) is
//! reported here, so a bad `username_template` is refused when it is configured rather
//! than when credentials are requested.

use super::funcs::Func;
use super::lexer::{Item, Tok};

/// Deepest nesting of parentheses and `if` blocks accepted; keeps recursion bounded.
const MAX_DEPTH: usize = 100;

/// A node of the template tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// Literal text.
    Text(String),
    /// `{{ pipeline }}`: the pipeline's value is printed.
    Output(Pipeline),
    /// `{{ if }} … {{ else }} … {{ end }}`; `else if` nests in `otherwise`.
    If {
        cond: Pipeline,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// Commands joined by `|`; each command's value is the last argument of the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pipeline {
    pub(crate) line: usize,
    pub(crate) commands: Vec<Command>,
}

/// A function call with its arguments, or a single operand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    Call(Func, Vec<Operand>),
    Value(Operand),
}

/// Something that has a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operand {
    Field(String),
    Str(String),
    Int(i64),
    Bool(bool),
    /// A function named as an argument: called with no arguments, as in Go.
    Call(Func),
    /// `( pipeline )`
    Sub(Box<Pipeline>),
}

/// What one action means to the block structure.
enum Action {
    Output(Pipeline),
    If(Pipeline),
    ElseIf(Pipeline),
    Else,
    End,
}

/// An open `if` block.
struct Frame {
    cond: Pipeline,
    then: Vec<Node>,
    otherwise: Option<Vec<Node>>,
    /// Opened by `else if`: closed by the same `{{ end }}` as its parent.
    chained: bool,
}

/// Parses lexed items into a tree.
pub(crate) fn parse(items: Vec<Item>) -> Result<Vec<Node>, String> {
    let mut root = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    for item in items {
        let (tokens, line) = match item {
            Item::Text(text) => {
                branch(&mut root, &mut stack).push(Node::Text(text));
                continue;
            }
            Item::Action(tokens, line) => (tokens, line),
        };
        match action(tokens, line)? {
            Action::Output(p) => branch(&mut root, &mut stack).push(Node::Output(p)),
            Action::If(cond) => open(&mut stack, cond, false, line)?,
            Action::ElseIf(cond) => {
                start_else(&mut stack, line)?;
                open(&mut stack, cond, true, line)?;
            }
            Action::Else => start_else(&mut stack, line)?,
            Action::End => close(&mut root, &mut stack, line)?,
        }
    }
    match stack.first() {
        Some(frame) => Err(format!(
            "line {}: unexpected end of template: {{{{ if }}}} has no {{{{ end }}}}",
            frame.cond.line
        )),
        None => Ok(root),
    }
}

/// The node list new nodes go to: the innermost open branch, or the root.
fn branch<'a>(root: &'a mut Vec<Node>, stack: &'a mut [Frame]) -> &'a mut Vec<Node> {
    match stack.last_mut() {
        Some(Frame {
            otherwise: Some(nodes),
            ..
        }) => nodes,
        Some(frame) => &mut frame.then,
        None => root,
    }
}

fn open(stack: &mut Vec<Frame>, cond: Pipeline, chained: bool, line: usize) -> Result<(), String> {
    if stack.len() >= MAX_DEPTH {
        return Err(format!(
            "line {line}: {{{{ if }}}} blocks nested too deeply"
        ));
    }
    stack.push(Frame {
        cond,
        then: Vec::new(),
        otherwise: None,
        chained,
    });
    Ok(())
}

fn start_else(stack: &mut [Frame], line: usize) -> Result<(), String> {
    match stack.last_mut() {
        None => Err(format!("line {line}: unexpected {{{{ else }}}}")),
        Some(Frame {
            otherwise: Some(_), ..
        }) => Err(format!(
            "line {line}: expected {{{{ end }}}}; found a second {{{{ else }}}}"
        )),
        Some(frame) => {
            frame.otherwise = Some(Vec::new());
            Ok(())
        }
    }
}

fn close(root: &mut Vec<Node>, stack: &mut Vec<Frame>, line: usize) -> Result<(), String> {
    loop {
        let frame = stack
            .pop()
            .ok_or_else(|| format!("line {line}: unexpected {{{{ end }}}}"))?;
        let chained = frame.chained;
        let node = Node::If {
            cond: frame.cond,
            then: frame.then,
            otherwise: frame.otherwise.unwrap_or_default(),
        };
        branch(root, stack).push(node);
        if !chained {
            return Ok(());
        }
    }
}

fn action(tokens: Vec<Tok>, line: usize) -> Result<Action, String> {
    let keyword = match tokens.first() {
        Some(Tok::Ident(word)) => word.as_str(),
        Some(_) => return Ok(Action::Output(pipeline_of(&tokens, line, "command")?)),
        None => return Err(format!("line {line}: missing value for command")),
    };
    match keyword {
        "if" => Ok(Action::If(pipeline_of(&tokens[1..], line, "if")?)),
        "else" => match tokens.get(1) {
            None => Ok(Action::Else),
            Some(Tok::Ident(w)) if w == "if" => {
                Ok(Action::ElseIf(pipeline_of(&tokens[2..], line, "if")?))
            }
            Some(_) => Err(format!(
                "line {line}: unexpected input after {{{{ else }}}}"
            )),
        },
        "end" if tokens.len() == 1 => Ok(Action::End),
        "end" => Err(format!("line {line}: unexpected input after {{{{ end }}}}")),
        "range" | "with" | "define" | "template" | "block" | "break" | "continue" => Err(format!(
            "line {line}: {{{{ {keyword} }}}} is not supported in this template language"
        )),
        _ => Ok(Action::Output(pipeline_of(&tokens, line, "command")?)),
    }
}

/// Parses a whole token slice as one pipeline.
fn pipeline_of(tokens: &[Tok], line: usize, context: &str) -> Result<Pipeline, String> {
    if tokens.is_empty() {
        return Err(format!("line {line}: missing value for {context}"));
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        line,
    };
    let pipeline = parser.pipeline(0)?;
    match parser.tokens.get(parser.pos) {
        None => Ok(pipeline),
        Some(Tok::RParen) => Err(format!("line {line}: unexpected right paren")),
        Some(tok) => Err(format!("line {line}: unexpected {tok:?} in pipeline")),
    }
}

struct Parser<'a> {
    tokens: &'a [Tok],
    pos: usize,
    line: usize,
}

impl Parser<'_> {
    fn err(&self, message: impl std::fmt::Display) -> String {
        format!("line {}: {message}", self.line)
    }

    fn pipeline(&mut self, depth: usize) -> Result<Pipeline, String> {
        let mut commands = Vec::new();
        loop {
            commands.push(self.command(depth, commands.len())?);
            if self.tokens.get(self.pos) != Some(&Tok::Pipe) {
                break;
            }
            self.pos += 1;
        }
        Ok(Pipeline {
            line: self.line,
            commands,
        })
    }

    /// One command; `stage` is its index in the pipeline (stages after the first
    /// receive the previous value as their last argument).
    fn command(&mut self, depth: usize, stage: usize) -> Result<Command, String> {
        let mut operands = Vec::new();
        while let Some(tok) = self.tokens.get(self.pos) {
            if matches!(tok, Tok::Pipe | Tok::RParen) {
                break;
            }
            operands.push(self.operand(depth)?);
        }
        let mut operands = operands.into_iter();
        let head = operands.next().ok_or_else(|| self.err("missing command"))?;
        let args: Vec<Operand> = operands.collect();
        for arg in &args {
            if let Operand::Call(func) = arg {
                func.check_arity(0).map_err(|e| self.err(e))?;
            }
        }
        let piped = usize::from(stage > 0);
        match head {
            Operand::Call(func) => {
                func.check_arity(args.len() + piped)
                    .map_err(|e| self.err(e))?;
                Ok(Command::Call(func, args))
            }
            _ if stage > 0 => Err(self.err(format!(
                "non executable command in pipeline stage {}",
                stage + 1
            ))),
            _ if !args.is_empty() => Err(self.err("can't give argument to non-function")),
            other => Ok(Command::Value(other)),
        }
    }

    fn operand(&mut self, depth: usize) -> Result<Operand, String> {
        let Some(tok) = self.tokens.get(self.pos) else {
            return Err(self.err("missing operand"));
        };
        self.pos += 1;
        match tok {
            Tok::Field(name) => Ok(Operand::Field(name.clone())),
            Tok::Str(s) => Ok(Operand::Str(s.clone())),
            Tok::Int(i) => Ok(Operand::Int(*i)),
            Tok::Dot => {
                Err(self.err("'.' on its own is not supported; name a field such as .DisplayName"))
            }
            Tok::Ident(word) => self.identifier(word),
            Tok::LParen => {
                if depth >= MAX_DEPTH {
                    return Err(self.err("parentheses nested too deeply"));
                }
                let inner = self.pipeline(depth + 1)?;
                if self.tokens.get(self.pos) != Some(&Tok::RParen) {
                    return Err(self.err("unclosed left paren"));
                }
                self.pos += 1;
                Ok(Operand::Sub(Box::new(inner)))
            }
            Tok::RParen => Err(self.err("unexpected right paren")),
            Tok::Pipe => Err(self.err("missing command before '|'")),
        }
    }

    fn identifier(&self, word: &str) -> Result<Operand, String> {
        match word {
            "true" => Ok(Operand::Bool(true)),
            "false" => Ok(Operand::Bool(false)),
            "nil" => Err(self.err("nil is not a command")),
            _ => match Func::lookup(word) {
                Some(func) => Ok(Operand::Call(func)),
                None => Err(self.err(format!("function {word:?} not defined"))),
            },
        }
    }
}
