//! [`BuildError`]: why [`App::build`](crate::App::build) refused an app.

use std::fmt;

/// Why an app could not be built: every problem [`App::build`](crate::App::build)
/// found — invalid or conflicting route patterns, a missing `State<T>`, a `Path` that does
/// not match its pattern, CORS that allows any origin with credentials — at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    message: String,
}

impl BuildError {
    pub(crate) fn new(message: String) -> Self {
        Self { message }
    }

    /// One error for every problem found: the problem itself when there is one, a list
    /// otherwise.
    pub(crate) fn from_problems(problems: Vec<String>) -> Self {
        match <[String; 1]>::try_from(problems) {
            Ok([problem]) => Self::new(problem),
            Err(problems) => Self::new(format!(
                "the app has {} problems:\n{}",
                problems.len(),
                problems
                    .iter()
                    .map(|problem| format!("- {problem}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )),
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {}
