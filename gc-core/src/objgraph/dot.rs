//! A [`RefGraph`] as Graphviz DOT, and drawn by Graphviz's `dot` when it is installed.
//!
//! Starting objects are filled green, highlighted ones blue, the others grey, lighter with
//! depth (as objgraph does). Objects and references that form a cycle are outlined in red.
//! Labels read: type, description (if any), id, reference count.

use std::ffi::{OsStr, OsString};
use std::fmt::{self, Write as _};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use super::graph::{Direction, RefGraph};

/// Attributes of a node, and of an edge, that belong to a cycle.
const CYCLE_NODE: &str = ", color=\"red\", penwidth=2";
const CYCLE_EDGE: &str = " [color=\"red\", penwidth=2]";

impl RefGraph {
    /// The graph in Graphviz DOT. Node `nK` is [`nodes()[K]`](RefGraph::nodes).
    pub fn to_dot(&self) -> String {
        let mut dot = String::from("digraph ObjectGraph {\n");
        dot.push_str(
            "  node [shape=box, style=filled, fillcolor=white, fontname=\"Helvetica\", fontsize=10];\n",
        );
        for (i, node) in self.nodes.iter().enumerate() {
            let mut lines = vec![node.type_label.clone()];
            lines.extend(node.description.clone());
            lines.push(format!("{:#x}", node.id));
            if self.refcounts {
                lines.push(format!("refcount {}", node.ref_count));
            }
            let label: Vec<String> = lines.iter().map(|l| escape(l)).collect();
            let fill = if node.depth == 0 {
                "palegreen".to_string()
            } else if node.highlighted {
                "lightskyblue".to_string()
            } else {
                // Grey to white with depth, in Graphviz's "H,S,V".
                let v = 0.7 + 0.3 * node.depth as f64 / self.max_depth.max(1) as f64;
                format!("0,0,{v:.3}")
            };
            let cycle = if node.in_cycle { CYCLE_NODE } else { "" };
            let _ = writeln!(
                dot,
                "  n{i} [label=\"{}\", fillcolor=\"{fill}\"{cycle}];",
                label.join("\\n")
            );
        }
        for edge in &self.edges {
            let cycle = if edge.in_cycle { CYCLE_EDGE } else { "" };
            let _ = writeln!(dot, "  n{} -> n{}{cycle};", edge.from, edge.to);
        }
        for (i, node) in self.nodes.iter().enumerate().filter(|(_, n)| n.hidden > 0) {
            let _ = writeln!(
                dot,
                "  n{i}_more [label=\"+{} more\", shape=plaintext, style=\"\", fontcolor=\"red\"];",
                node.hidden
            );
            let _ = match self.direction {
                Direction::Referents => writeln!(dot, "  n{i} -> n{i}_more [style=dashed];"),
                Direction::Referrers => writeln!(dot, "  n{i}_more -> n{i} [style=dashed];"),
            };
        }
        dot.push_str("}\n");
        dot
    }

    /// Writes the DOT text to `path`.
    pub fn write_dot(&self, path: impl AsRef<Path>) -> io::Result<()> {
        std::fs::write(path, self.to_dot())
    }

    /// Draws the graph into `path` with Graphviz's `dot`, in the format its extension names
    /// (`svg`, `png`, `pdf`, ...; `dot` or `gv` writes the DOT text itself).
    ///
    /// Without Graphviz this fails with [`RenderError::DotNotFound`], whose message says how
    /// to install it; [`write_dot`](RefGraph::write_dot) needs nothing.
    pub fn render(&self, path: impl AsRef<Path>) -> Result<(), RenderError> {
        self.render_with("dot", path)
    }

    /// As [`render`](RefGraph::render), running `program` instead of the `dot` on `PATH`.
    pub fn render_with(
        &self,
        program: impl AsRef<OsStr>,
        path: impl AsRef<Path>,
    ) -> Result<(), RenderError> {
        let path = path.as_ref();
        let format = path
            .extension()
            .and_then(OsStr::to_str)
            .filter(|f| !f.is_empty())
            .ok_or_else(|| RenderError::NoFormat(path.to_path_buf()))?;
        if format == "dot" || format == "gv" {
            return self.write_dot(path).map_err(RenderError::Io);
        }
        let program = program.as_ref();
        let mut child = Command::new(program)
            .arg(format!("-T{format}"))
            .arg("-o")
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => RenderError::DotNotFound(program.to_os_string()),
                _ => RenderError::Io(e),
            })?;
        // A `dot` that fails early closes its input: its exit status says more than the
        // broken pipe, so the write's result is looked at last.
        let written = child.stdin.take().map_or(Ok(()), |mut stdin| {
            stdin.write_all(self.to_dot().as_bytes())
        });
        let output = child.wait_with_output().map_err(RenderError::Io)?;
        if !output.status.success() {
            return Err(RenderError::Failed {
                status: output.status,
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        written.map_err(RenderError::Io)
    }
}

impl fmt::Display for RefGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_dot())
    }
}

/// Escapes a label line for a double-quoted DOT string.
fn escape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Why [`RefGraph::render`] drew nothing.
#[derive(Debug)]
pub enum RenderError {
    /// Graphviz's `dot` (the named program) is not installed or not on `PATH`.
    DotNotFound(OsString),
    /// The file name has no extension to take the output format from.
    NoFormat(PathBuf),
    /// `dot` ran and failed (an unknown format, say); its error output is kept.
    Failed {
        /// How `dot` exited.
        status: ExitStatus,
        /// What it printed on stderr.
        stderr: String,
    },
    /// Writing the file or talking to `dot` failed.
    Io(io::Error),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::DotNotFound(program) => write!(
                f,
                "Graphviz is not installed: `{}` was not found. Install it (for example \
                 `apt-get install graphviz`) to draw graphs, or open the .dot file written by \
                 `write_dot` in any Graphviz viewer",
                program.to_string_lossy()
            ),
            RenderError::NoFormat(path) => write!(
                f,
                "cannot tell the output format of {}: give it an extension such as .svg or .png",
                path.display()
            ),
            RenderError::Failed { status, stderr } => {
                write!(f, "Graphviz dot failed ({status}): {stderr}")
            }
            RenderError::Io(e) => write!(f, "cannot write the graph: {e}"),
        }
    }
}

impl std::error::Error for RenderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RenderError::Io(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn labels_are_escaped_for_dot() {
        assert_eq!(escape(r#"say "hi" \ bye"#), r#"say \"hi\" \\ bye"#);
        assert_eq!(escape("two\nlines"), "two\\nlines");
    }
}
