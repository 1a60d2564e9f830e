//! The `[webhook]` section and its `[[webhook.apps]]`.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// `[webhook]`: Meta's Cloud API webhooks (and the BSP's send-API bodies) over HTTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSection {
    /// Listen address; empty: off.
    pub listen: String,
    /// Path of the webhook (GET verification, POST notifications).
    pub path: String,
    /// Path prefix of the send-API tap: `<send_path>/<phone-number-id>/messages`.
    pub send_path: String,
    /// Largest body accepted, bytes.
    pub max_body_bytes: usize,
    /// One per Meta app: the signature secret, the verify token, the tenant.
    pub apps: Vec<WebhookApp>,
    /// TLS (and mTLS) for the listener; off by default.
    pub tls: super::TlsSection,
}

impl Default for WebhookSection {
    fn default() -> Self {
        WebhookSection {
            listen: String::new(),
            path: "/webhooks/whatsapp".into(),
            send_path: "/sendapi".into(),
            max_body_bytes: 4 * 1024 * 1024,
            apps: Vec::new(),
            tls: Default::default(),
        }
    }
}

/// `[[webhook.apps]]`. Secrets come from the value itself, or from the
/// environment variable `*_env` names, or from the file `*_file` names
/// (trailing newline dropped); they are never printed by `--print-config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookApp {
    /// The tenant the app's events belong to.
    pub tenant_id: String,
    /// The app secret (signs `X-Hub-Signature-256`).
    #[serde(serialize_with = "redacted")]
    pub app_secret: String,
    /// Environment variable holding the app secret.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub app_secret_env: String,
    /// File holding the app secret.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub app_secret_file: String,
    /// The verify token of the GET subscription check; empty: the app is not verifiable.
    #[serde(serialize_with = "redacted")]
    pub verify_token: String,
    /// Environment variable holding the verify token.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub verify_token_env: String,
    /// File holding the verify token.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub verify_token_file: String,
}

fn redacted<S: serde::Serializer>(_: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("")
}

/// A secret from its value, else the environment variable, else the file.
pub(super) fn secret(
    value: &mut String,
    env_name: &str,
    file: &str,
    env: &std::collections::HashMap<String, String>,
    key: &str,
) -> Result<(), String> {
    if !value.is_empty() {
        return Ok(());
    }
    if !env_name.is_empty() {
        *value = env
            .get(env_name)
            .cloned()
            .ok_or_else(|| format!("{key}_env: the environment has no {env_name}"))?;
    } else if !file.is_empty() {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{key}_file {file}: {e}"))?;
        *value = text.trim_end_matches(['\n', '\r']).to_string();
    }
    Ok(())
}

impl WebhookSection {
    /// Reads the secrets named by `*_env` and `*_file`.
    pub(super) fn resolve_secrets(
        &mut self,
        env: &std::collections::HashMap<String, String>,
    ) -> Result<(), String> {
        for (i, a) in self.apps.iter_mut().enumerate() {
            let k = format!("webhook.apps[{i}]");
            secret(
                &mut a.app_secret,
                &a.app_secret_env,
                &a.app_secret_file,
                env,
                &format!("{k}.app_secret"),
            )?;
            secret(
                &mut a.verify_token,
                &a.verify_token_env,
                &a.verify_token_file,
                env,
                &format!("{k}.verify_token"),
            )?;
        }
        Ok(())
    }

    /// With `kafka.events_format = "webhook"`: the apps that verify records
    /// (or a tenant for unsigned ones) exist, and the HTTP receiver is off
    /// (it would produce protobuf events into a topic of raw bodies).
    pub(super) fn validate_kafka_source(&self, unsigned_tenant: &str) -> Result<(), String> {
        if !self.listen.is_empty() {
            return Err("kafka.events_format = \"webhook\" cannot be used with webhook.listen: the receiver produces satpam.v1.MessageEvent protobuf to kafka.events_topic".into());
        }
        if self.apps.is_empty() && unsigned_tenant.trim().is_empty() {
            return Err("kafka.events_format = \"webhook\" needs [[webhook.apps]] (or kafka.webhook_unsigned_tenant)".into());
        }
        self.validate_apps()
    }

    fn validate_apps(&self) -> Result<(), String> {
        for (i, a) in self.apps.iter().enumerate() {
            if a.tenant_id.trim().is_empty() || a.app_secret.is_empty() {
                return Err(format!(
                    "webhook.apps[{i}]: tenant_id and app_secret (or app_secret_env / app_secret_file) must be set"
                ));
            }
        }
        Ok(())
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        if self.listen.is_empty() {
            return Ok(());
        }
        if self.listen.parse::<SocketAddr>().is_err() {
            return Err(format!(
                "webhook.listen: `{}` is not an ip:port address",
                self.listen
            ));
        }
        for (key, p) in [
            ("webhook.path", &self.path),
            ("webhook.send_path", &self.send_path),
        ] {
            if !p.starts_with('/') || p.len() < 2 || p.contains(['{', '}', '*']) {
                return Err(format!(
                    "{key}: `{p}` must be a path like /webhooks/whatsapp"
                ));
            }
        }
        if self.apps.is_empty() {
            return Err("webhook.listen is set but no [[webhook.apps]] is configured".into());
        }
        self.validate_apps()
    }
}
