//! The API's OpenAPI 3.1 document, generated from the handlers' annotations
//! and the types they serialize, so it cannot drift from what the API
//! answers. What every route shares (how to authenticate, the 401 and the
//! error body) is added here once rather than on each route.

use std::sync::OnceLock;

use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::OpenApi as _;

/// Routes anyone may call: no session or token, so no 401.
const OPEN: &[&str] = &["/api/openapi.json", "/api/login"];

/// The document, as served at `GET /api/openapi.json`.
pub(super) fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| build().to_pretty_json().unwrap_or_default())
}

fn problem(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ProblemBody")))
                .build(),
        )
        .build()
        .into()
}

fn build() -> OpenApi {
    let mut doc = super::api::Routes::openapi();
    doc.info.title = "ferry console API".into();
    doc.info.version = "1".into();
    doc.info.description = Some(
        "The data and actions of the ferry console, for automation. Authenticate with a session cookie \
         from POST /api/login (then send its CSRF token as X-CSRF-Token on every POST, PUT and DELETE) \
         or with an API token as `Authorization: Bearer TOKEN` (`ferry tokens create`). Errors are \
         `{\"error\": \"...\"}` with the same sentence the CLI prints."
            .into(),
    );
    doc.info.license = None;
    doc.info.contact = None;
    if let Some(components) = doc.components.as_mut() {
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("ferry_session"))),
        );
    }
    doc.security = Some(vec![
        SecurityRequirement::new("token", Vec::<String>::new()),
        SecurityRequirement::new("session", Vec::<String>::new()),
    ]);
    for (path, item) in &mut doc.paths.paths {
        let open = OPEN.contains(&path.as_str());
        for op in [&mut item.get, &mut item.post, &mut item.put, &mut item.delete]
            .into_iter()
            .flatten()
        {
            let responses = &mut op.responses.responses;
            if open {
                op.security = Some(Vec::new());
            } else {
                responses.insert("401".into(), problem("No valid session or token"));
            }
            if responses.contains_key("403") {
                responses.insert(
                    "403".into(),
                    problem("The user lacks the right, or the CSRF token is missing"),
                );
            }
            responses.insert("default".into(), problem("The request was refused or failed"));
        }
    }
    doc
}
