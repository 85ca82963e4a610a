//! The errors a request can meet and their HTTP statuses, in one place.
//! Every error answers `{"error": "<message>"}`.

use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Why a request failed; [`ApiError::status`] maps each cause to a status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON, unknown fields, values out of range.
    #[error("{0}")]
    BadRequest(String),
    /// The body or the batch is over the server's limit.
    #[error("{0}")]
    TooLarge(String),
    /// An unknown index or route.
    #[error("{0}")]
    NotFound(String),
    /// A known route asked with another method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A body that is not declared JSON.
    #[error("the request body must be JSON, sent with \"Content-Type: application/json\"")]
    UnsupportedMediaType,
    /// The body did not arrive within the server's limit.
    #[error("the request body took longer than the server's limit of {0} s to arrive")]
    BodyTimeout(u64),
    /// The request waited and ran longer than the server's timeout.
    #[error("the request took longer than the server's limit of {0} s; retry later or send smaller batches")]
    Timeout(u64),
    /// The encoder failed, or a job died.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A request body that could not be read: over `limit` bytes, or broken.
    pub fn from_body(rejection: BytesRejection, limit: usize) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!("the request body is over the limit of {limit} bytes"))
        } else {
            ApiError::BadRequest(format!("cannot read the request body: {}", rejection.body_text()))
        }
    }
}

impl From<crate::Error> for ApiError {
    fn from(error: crate::Error) -> Self {
        match error.kind() {
            crate::error::ErrorKind::BadInput => ApiError::BadRequest(error.to_string()),
            _ => ApiError::Internal(error.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        (self.status(), Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_map_to_client_or_server_errors() {
        let invalid: ApiError = crate::Error::InvalidInput("k too large".into()).into();
        assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
        let model: ApiError = crate::Error::Model {
            path: "m".into(),
            message: "inference failed".into(),
        }
        .into();
        assert_eq!(model.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let internal: ApiError = crate::Error::Internal("cannot serialise".into()).into();
        assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(ApiError::Timeout(30).status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
