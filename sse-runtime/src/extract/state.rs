//! [`State`]: a shared value registered with [`App::state`](crate::App::state).

use http::request::Parts;
use http::StatusCode;

use super::{FromRequestParts, Requirements};
use crate::response::http_error::HttpError;
use crate::state::AppState;

/// A shared value registered with [`App::state`](crate::App::state), cloned out for the
/// handler (wrap big or mutable state in an `Arc`).
///
/// A `State<T>` whose `T` was never registered is a programming error, caught when the
/// app is built ([`App::build`](crate::App::build) fails and says which type is missing).
/// Should one still be read at run time (say, by a custom extractor that did not
/// declare it), the client gets a plain 500 and the log says which type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromRequestParts for State<T> {
    type Rejection = HttpError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        match state.get::<T>() {
            Some(value) => Ok(State(value.clone())),
            None => {
                let name = std::any::type_name::<T>();
                tracing::error!(
                    state = name,
                    "State<{name}> requested but never registered with App::state"
                );
                Err(HttpError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                ))
            }
        }
    }

    fn requirements(requirements: &mut Requirements) {
        requirements.state::<T>();
    }
}
