//! The reader: program text to data (integers, booleans, strings, symbols, lists, dotted
//! pairs, `'x` for `(quote x)`, `;` comments). Errors name the line.

use gc_core::Mutator;

use super::value::Value;
use super::{Error, Interp, Result};

/// Lists nested deeper than this are refused rather than read with ever more Rust stack.
const MAX_DEPTH: usize = 1_000;

/// Every datum of `src`, in order.
pub fn read_all(interp: &Interp, m: &Mutator, src: &str) -> Result<Vec<Value>> {
    let mut reader = Reader {
        interp,
        m,
        src,
        pos: 0,
        line: 1,
    };
    let mut data = Vec::new();
    while reader.skip_blank() {
        data.push(reader.datum(0)?);
    }
    Ok(data)
}

struct Reader<'a> {
    interp: &'a Interp,
    m: &'a Mutator,
    src: &'a str,
    /// Byte offset of the next character.
    pos: usize,
    line: usize,
}

/// Characters that end an atom.
fn delimits(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '\'' | '"' | ';')
}

impl Reader<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn error(&self, what: impl std::fmt::Display) -> Error {
        Error::new(format!("line {}: {what}", self.line))
    }

    /// Skips whitespace and comments; false at the end of the text.
    fn skip_blank(&mut self) -> bool {
        while let Some(c) = self.peek() {
            if c == ';' {
                while self.bump().is_some_and(|c| c != '\n') {}
            } else if c.is_whitespace() {
                self.bump();
            } else {
                return true;
            }
        }
        false
    }

    fn datum(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(self.error("lists nested too deeply"));
        }
        if !self.skip_blank() {
            return Err(self.error("unexpected end of input"));
        }
        match self.bump() {
            Some('(') => self.list(depth),
            Some(')') => Err(self.error("unexpected ')'")),
            Some('\'') => {
                let quoted = self.datum(depth + 1)?;
                let quote = Value::Sym(self.interp.intern("quote"));
                Ok(Value::list(self.m, vec![quote, quoted]))
            }
            Some('"') => self.string(),
            _ => {
                let start = self.pos - 1;
                while self.peek().is_some_and(|c| !delimits(c)) {
                    self.bump();
                }
                self.atom(&self.src[start..self.pos])
            }
        }
    }

    /// The rest of a list whose `(` was read.
    fn list(&mut self, depth: usize) -> Result<Value> {
        let mut items = Vec::new();
        let mut tail = Value::Nil;
        loop {
            if !self.skip_blank() {
                return Err(self.error("unclosed '('"));
            }
            if self.peek() == Some(')') {
                self.bump();
                break;
            }
            let item = self.datum(depth + 1)?;
            if matches!(&item, Value::Sym(s) if s.name() == ".") {
                if items.is_empty() {
                    return Err(self.error("'.' with nothing before it"));
                }
                tail = self.datum(depth + 1)?;
                self.skip_blank();
                if self.bump() != Some(')') {
                    return Err(self.error("expected ')' after the datum following '.'"));
                }
                break;
            }
            items.push(item);
        }
        Ok(items
            .into_iter()
            .rev()
            .fold(tail, |tail, item| Value::cons(self.m, item, tail)))
    }

    /// The rest of a string whose `"` was read.
    fn string(&mut self) -> Result<Value> {
        let mut text = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error("unterminated string")),
                Some('"') => return Ok(Value::Str(self.m.alloc(text))),
                Some('\\') => text.push(match self.bump() {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some(c @ ('\\' | '"')) => c,
                    other => {
                        return Err(self.error(format!("unknown escape \\{}", other.unwrap_or(' '))))
                    }
                }),
                Some(c) => text.push(c),
            }
        }
    }

    fn atom(&self, text: &str) -> Result<Value> {
        match text {
            "#t" | "#true" => return Ok(Value::Bool(true)),
            "#f" | "#false" => return Ok(Value::Bool(false)),
            _ => {}
        }
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse()
                .map(Value::Int)
                .map_err(|_| self.error(format!("integer out of range: {text}")));
        }
        if text.starts_with('#') {
            return Err(self.error(format!("unknown syntax {text}")));
        }
        Ok(Value::Sym(self.interp.intern(text)))
    }
}
