//! A store on an S3-compatible bucket, configured only by the standard `AWS_*` variables, with
//! explicit credentials (never a credential service), no conditional writes, and retries that
//! give up within seconds.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, S3ConditionalPut};
use object_store::{BackoffConfig, ClientConfigKey, RetryConfig};

use super::error::chain;
use super::{Store, StoreError};

impl Store {
    /// An S3 bucket configured by `AWS_*` variables (`vars`: the environment, or given by a
    /// caller). Credentials must be given explicitly: the instance-metadata and container
    /// credential services are never asked.
    pub fn s3(
        bucket: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Store, StoreError> {
        if bucket.is_empty() || bucket.contains('/') {
            return Err(StoreError::BucketName(bucket.to_owned()));
        }
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(k, v)| k.starts_with("AWS_") && !v.trim().is_empty())
            .collect();
        let given = |name: &str| vars.iter().any(|(k, _)| k == name);
        if !given("AWS_ACCESS_KEY_ID") || !given("AWS_SECRET_ACCESS_KEY") {
            return Err(StoreError::NoCredentials(bucket.to_owned()));
        }
        let mut builder = AmazonS3Builder::new();
        for (key, value) in &vars {
            // The same reading as `AmazonS3Builder::from_env`, over `vars`.
            if let Ok(key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(key, value);
            }
        }
        let mut builder = builder
            .with_bucket_name(bucket)
            // Garage ignores If-None-Match; this store never asks for conditional writes, and
            // this makes any future attempt an explicit error instead of a silent overwrite.
            .with_conditional_put(S3ConditionalPut::Disabled)
            // Fail within seconds when the endpoint is down, instead of object_store's 3 minutes:
            // the client of this service retries, and the service answers while it can.
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: Duration::from_secs(15),
            });
        for (key, default) in [
            (ClientConfigKey::ConnectTimeout, "3s"),
            (ClientConfigKey::Timeout, "60s"),
        ] {
            let key = AmazonS3ConfigKey::Client(key);
            if builder.get_config_value(&key).is_none() {
                builder = builder.with_config(key, default);
            }
        }
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .unwrap_or_else(|| "AWS".to_owned());
        let region = builder
            .get_config_value(&AmazonS3ConfigKey::Region)
            .unwrap_or_else(|| "us-east-1".to_owned());
        let s3 = builder.build().map_err(|e| StoreError::Settings {
            bucket: bucket.to_owned(),
            cause: chain(&e),
        })?;
        Ok(Store::new(
            Arc::new(s3),
            format!("bucket s3://{bucket} at {endpoint} (region {region})"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn s3_without_credentials_is_refused_before_any_connection() {
        for given in [
            vars(&[("AWS_ENDPOINT", "http://127.0.0.1:9")]),
            vars(&[("AWS_ACCESS_KEY_ID", "GK1"), ("AWS_SECRET_ACCESS_KEY", " ")]),
            // Container credentials are not a way in either.
            vars(&[
                ("AWS_ACCESS_KEY_ID", "GK1"),
                (
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "http://127.0.0.1:9/creds",
                ),
            ]),
        ] {
            let e = Store::s3("images", given).expect_err("no credentials");
            assert!(e.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{e}");
        }
    }

    #[test]
    fn s3_settings_come_from_the_variables() {
        let store = Store::s3(
            "images",
            vars(&[
                ("AWS_ENDPOINT", "http://127.0.0.1:3900"),
                ("AWS_REGION", "garage"),
                ("AWS_ACCESS_KEY_ID", "GK1"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
                ("AWS_ALLOW_HTTP", "true"),
                ("HOME", "/elsewhere"),
            ]),
        )
        .expect("store");
        let shown = format!("{store:?}");
        assert_eq!(
            shown,
            "bucket s3://images at http://127.0.0.1:3900 (region garage)"
        );
        assert!(!shown.contains("secret"));
    }
}
