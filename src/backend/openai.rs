//! Any OpenAI-compatible HTTP server: `/v1/completions` or `/v1/chat/completions`,
//! with timeouts and retries with exponential backoff on transient failures.

use std::time::Duration;

use serde_json::{json, Value};

use super::{Answer, Backend, Input, Request, Usage};
use crate::error::{Error, Result};

crate::named! {
    /// Which endpoint a prompt goes to.
    pub enum Api: "api" {
        /// `/v1/completions`: one prompt string (base models).
        Completions => "completions",
        /// `/v1/chat/completions`: messages (instruction-tuned models).
        Chat => "chat",
    }
}

impl Api {
    /// The endpoint's path on the server.
    pub fn path(self) -> &'static str {
        match self {
            Api::Completions => "/v1/completions",
            Api::Chat => "/v1/chat/completions",
        }
    }

    /// The endpoint `input` goes to.
    pub fn of(input: &Input) -> Api {
        match input {
            Input::Completion(_) => Api::Completions,
            Input::Chat(_) => Api::Chat,
        }
    }
}

/// The JSON body of `request` for its endpoint ([`Api::of`]): the one
/// definition of what is sent, whether to a server or in a batch file.
pub(super) fn body(request: &Request) -> Value {
    let p = &request.params;
    let mut body = json!({
        "model": p.model,
        "temperature": p.temperature,
        "max_tokens": p.max_tokens,
        "stop": p.stop,
    });
    if let Some(seed) = p.seed {
        body["seed"] = json!(seed);
    }
    if let Some(cache) = p.cache_prompt {
        body["cache_prompt"] = json!(cache);
    }
    match &request.input {
        Input::Completion(prompt) => body["prompt"] = json!(prompt),
        Input::Chat(messages) => body["messages"] = json!(messages),
    }
    body
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// `http://127.0.0.1:8089` (a trailing `/v1` is accepted).
    pub base_url: String,
    /// Sent as a bearer token; never logged or written anywhere.
    pub api_key: Option<String>,
    /// Longest one attempt may take, from connecting to reading the answer.
    pub timeout: Duration,
    /// Further attempts after a failed one (connection errors, 429, 5xx).
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
}

impl OpenAiConfig {
    /// Settings for the server at `base_url` (a trailing `/` or `/v1` is dropped): no API key,
    /// a 120 s timeout, 3 retries, the first after 500 ms.
    pub fn new(base_url: &str) -> Self {
        OpenAiConfig {
            base_url: base_url.trim_end_matches('/').trim_end_matches("/v1").to_string(),
            api_key: None,
            timeout: Duration::from_secs(120),
            retries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// A client of one OpenAI-compatible server.
pub struct OpenAi {
    config: OpenAiConfig,
    agent: ureq::Agent,
}

/// Why one attempt failed, and whether another may succeed.
struct Failure {
    message: String,
    transient: bool,
}

impl OpenAi {
    /// A client with `config`; nothing is connected before the first request.
    pub fn new(config: OpenAiConfig) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        OpenAi { config, agent }
    }

    fn attempt(&self, url: &str, body: &Value) -> std::result::Result<Value, Failure> {
        let mut call = self.agent.post(url).header("Content-Type", "application/json");
        if let Some(key) = &self.config.api_key {
            call = call.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = call.send_json(body).map_err(|e| Failure {
            message: format!("request failed: {e}"),
            transient: true,
        })?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(|e| Failure {
            message: format!("cannot read the response: {e}"),
            transient: true,
        })?;
        if !(200..300).contains(&status) {
            return Err(Failure {
                message: format!("HTTP {status}: {}", text.chars().take(500).collect::<String>()),
                transient: status == 429 || status >= 500,
            });
        }
        serde_json::from_str(&text).map_err(|e| Failure {
            message: format!(
                "the answer is not JSON ({e}): {}",
                text.chars().take(200).collect::<String>()
            ),
            transient: false,
        })
    }
}

/// The generated text of an OpenAI-style response body.
pub(super) fn answer_from_body(body: &Value) -> std::result::Result<Answer, String> {
    let choice = body
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| format!("no choices in the answer: {}", truncate(&body.to_string())))?;
    let text = choice
        .get("text")
        .or_else(|| choice.get("message").and_then(|m| m.get("content")))
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no text in the first choice: {}", truncate(&choice.to_string())))?;
    let usage = body.get("usage").map(|u| Usage {
        prompt_tokens: u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0),
        completion_tokens: u.get("completion_tokens").and_then(Value::as_u64).unwrap_or(0),
    });
    Ok(Answer {
        text: text.to_string(),
        usage,
    })
}

fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}

impl Backend for OpenAi {
    fn id(&self) -> String {
        self.config.base_url.clone()
    }

    fn generate(&self, request: &Request) -> Result<Answer> {
        let url = format!("{}{}", self.config.base_url, Api::of(&request.input).path());
        let body = body(request);
        let mut wait = self.config.backoff;
        let mut attempt = 0;
        loop {
            let failure = match self.attempt(&url, &body) {
                Ok(value) => match answer_from_body(&value) {
                    Ok(answer) => return Ok(answer),
                    Err(message) => Failure {
                        message,
                        transient: false,
                    },
                },
                Err(failure) => failure,
            };
            if !failure.transient || attempt >= self.config.retries {
                let tries = attempt + 1;
                return Err(Error::Backend {
                    endpoint: url,
                    message: format!(
                        "{} (after {tries} attempt{})",
                        failure.message,
                        if tries == 1 { "" } else { "s" }
                    ),
                });
            }
            std::thread::sleep(wait);
            wait *= 2;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_completion_and_chat_bodies() {
        let completion = json!({"choices": [{"text": "Disease: flu"}], "usage": {"prompt_tokens": 9, "completion_tokens": 3}});
        let answer = answer_from_body(&completion).unwrap();
        assert_eq!(answer.text, "Disease: flu");
        assert_eq!(answer.usage.unwrap().completion_tokens, 3);
        let chat = json!({"choices": [{"message": {"role": "assistant", "content": "None"}}]});
        assert_eq!(answer_from_body(&chat).unwrap().text, "None");
        assert!(answer_from_body(&json!({"error": "overloaded"}))
            .unwrap_err()
            .contains("no choices"));
    }

    #[test]
    fn base_url_accepts_a_trailing_v1() {
        assert_eq!(
            OpenAiConfig::new("http://127.0.0.1:8089/v1/").base_url,
            "http://127.0.0.1:8089"
        );
    }
}
