//! The [`Transport`] over HTTP: the protocol's calls, one function each, with
//! every answer sorted into success or one of the transport's errors.

use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};

use super::transport::{ActOutcome, Transport, act_refusal, sort_error};
use crate::error::{Error, Result};
use crate::protocol::{
    ActionRequest, CaseState, ChangesPage, ErrorBody, PushRequest, PushResponse, TaskFeed, UploadBatch, UploadBatchStates, UploadCreate,
    UploadState,
};

/// The largest thumbnail taken from the server: a 320 px JPEG is ~30 KB.
const MAX_THUMBNAIL_BYTES: u64 = 1024 * 1024;

pub struct HttpTransport {
    client: Client,
    base: String,
    token: String,
}

fn network(e: reqwest::Error) -> Error {
    // No URL in the message: it may carry a token in a query some day.
    Error::Network(e.without_url().to_string())
}

impl HttpTransport {
    pub fn new(server_url: &str, token: &str) -> Result<Self> {
        // rustls needs one crypto provider per process; ring is the light one
        // to cross-compile for phones. Installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Per request: one chunk or one batch must get through even on 2G.
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(network)?;
        Ok(HttpTransport { client, base: server_url.trim_end_matches('/').to_owned(), token: token.to_owned() })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token)
    }

    /// Sends and sorts the answer: 2xx is returned, the rest become errors.
    fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = request.send().map_err(network)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let message = response
            .json::<ErrorBody>()
            .map(|b| b.message)
            .unwrap_or_else(|_| status.canonical_reason().unwrap_or("no reason given").to_owned());
        Err(sort_error(status.as_u16(), message))
    }
}

impl Transport for HttpTransport {
    fn create_uploads(&self, uploads: Vec<UploadCreate>) -> Result<Vec<UploadState>> {
        let asked = uploads.len();
        let body = UploadBatch { uploads };
        let states: UploadBatchStates =
            self.send(self.request(reqwest::Method::POST, "/v1/uploads/batch").json(&body))?.json().map_err(network)?;
        if states.uploads.len() != asked || body.uploads.iter().zip(&states.uploads).any(|(a, s)| a.sha256 != s.sha256) {
            return Err(Error::Network("the server's upload states do not match the photos asked about".into()));
        }
        Ok(states.uploads)
    }

    fn upload_offset(&self, sha256: &str) -> Result<u64> {
        let response = self.send(self.request(reqwest::Method::HEAD, &format!("/v1/uploads/{sha256}")))?;
        offset_header(&response)
    }

    fn patch_upload(&self, sha256: &str, offset: u64, chunk: bytes::Bytes) -> Result<u64> {
        let request = self
            .request(reqwest::Method::PATCH, &format!("/v1/uploads/{sha256}"))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header(reqwest::header::CONTENT_TYPE, "application/offset+octet-stream")
            .body(chunk);
        offset_header(&self.send(request)?)
    }

    fn push(&self, request: &PushRequest) -> Result<PushResponse> {
        self.send(self.request(reqwest::Method::POST, "/v1/push").json(request))?.json().map_err(network)
    }

    fn changes(&self, cursor: Option<&str>, limit: u32) -> Result<ChangesPage> {
        let mut request = self.request(reqwest::Method::GET, "/v1/changes").query(&[("limit", limit.to_string())]);
        if let Some(cursor) = cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        self.send(request)?.json().map_err(network)
    }

    fn act(&self, report_id: &str, request: &ActionRequest) -> Result<ActOutcome> {
        let response =
            self.request(reqwest::Method::POST, &format!("/v1/reports/{report_id}/actions")).json(request).send().map_err(network)?;
        let status = response.status();
        if status.is_success() {
            // Lenient: the report view carries more than the device reads.
            return response.json::<CaseState>().map(ActOutcome::Taken).map_err(network);
        }
        let reason = status.canonical_reason().unwrap_or("no reason given");
        act_refusal(status.as_u16(), &response.bytes().map_err(network)?, reason)
    }

    fn tasks(&self) -> Result<TaskFeed> {
        self.send(self.request(reqwest::Method::GET, "/v1/tasks"))?.json().map_err(network)
    }

    fn thumbnail(&self, sha256: &str) -> Result<Vec<u8>> {
        let response = self.send(self.request(reqwest::Method::GET, &format!("/v1/photos/{sha256}/thumbnail")))?;
        if response.content_length().is_some_and(|n| n > MAX_THUMBNAIL_BYTES) {
            return Err(Error::ServerRefused { status: 413, message: format!("the thumbnail of {sha256} is larger than a thumbnail") });
        }
        // Read at most one byte past the bound: a body without a length is not trusted either.
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(response, MAX_THUMBNAIL_BYTES + 1), &mut bytes)
            .map_err(|e| Error::Network(format!("reading a thumbnail: {e}")))?;
        if bytes.len() as u64 > MAX_THUMBNAIL_BYTES {
            return Err(Error::ServerRefused { status: 413, message: format!("the thumbnail of {sha256} is larger than a thumbnail") });
        }
        Ok(bytes)
    }
}

fn offset_header(response: &Response) -> Result<u64> {
    response
        .headers()
        .get("Upload-Offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::Network("the server's answer has no valid Upload-Offset header".into()))
}
