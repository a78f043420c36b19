//! [`Form`]: an `application/x-www-form-urlencoded` request body, deserialized.

use serde::de::DeserializeOwned;

use super::body::{read_body, require_content_type};
use super::rejection::Rejection;
use super::urlencoded::from_urlencoded;
use super::FromRequest;
use crate::response::Request;
use crate::state::AppState;

/// The content type a [`Form`] body must have.
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// An HTML form's body (`application/x-www-form-urlencoded`), deserialized with
/// `serde_urlencoded` into a struct (or a map), as [`Query`](super::Query) does for the
/// query string.
///
/// As an extractor it must be the handler's last argument. It requires
/// `content-type: application/x-www-form-urlencoded` — otherwise 415 — and a body within
/// the app's limit (default 2 MiB) — otherwise 413. A missing field or one that does not
/// parse is answered with 422 and `loc: ["body", "<field>"]`.
///
/// `Form` always reads the body, whatever the method: unlike axum's `Form`, it does not
/// read the query string of a `GET` or `HEAD` request (use [`Query`](super::Query) there).
///
/// ```
/// use serde::Deserialize;
/// use sse_runtime::{App, Form, testing::TestClient};
///
/// #[derive(Deserialize)]
/// struct Login { user: String, remember: Option<bool> }
///
/// async fn login(Form(login): Form<Login>) -> String {
///     format!("{} {:?}", login.user, login.remember)
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let client = TestClient::new(App::new().post("/login", login).build().unwrap());
/// let response = client
///     .post("/login")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .body("user=ada+lovelace&remember=true")
///     .send()
///     .await;
/// assert_eq!(response.text().await, "ada lovelace Some(true)");
///
/// let missing = client
///     .post("/login")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .body("remember=true")
///     .send()
///     .await;
/// assert_eq!(missing.status(), 422);
/// let body: serde_json::Value = missing.json().await;
/// assert_eq!(body["detail"][0]["loc"], serde_json::json!(["body", "user"]));
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest for Form<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        require_content_type(&req, |mime| mime == FORM_CONTENT_TYPE, FORM_CONTENT_TYPE)?;
        let bytes = read_body(req, state).await?;
        from_urlencoded("body", &bytes).map(Form)
    }
}
