//! The settings document analytics.js loads at start
//! (`GET /v1/projects/{writeKey}/settings`, from its `cdnURL`): the `Segment.io`
//! integration pointed back at this server, no other integration (nothing is loaded
//! from Segment's CDN), and no telemetry.

use serde_json::{Value, json};

/// The document for `key`, for a client that called `scheme://host`.
pub fn document(key: &str, scheme: &str, host: &str) -> Value {
    json!({
        "integrations": {
            "Segment.io": {
                "apiKey": key,
                // analytics.js posts to `{protocol}://{apiHost}/{i,t,p,g,...}`.
                "apiHost": format!("{host}/v1"),
                // Its default is https.
                "protocol": scheme,
                "addBundledMetadata": true,
                "unbundledIntegrations": [],
                "maybeBundledConfigIds": {},
                "versionSettings": {"componentTypes": []},
            }
        },
        "plan": {
            "track": {"__default": {"enabled": true, "integrations": {}}},
            "identify": {"__default": {"enabled": true}},
            "group": {"__default": {"enabled": true}},
        },
        "edgeFunction": {},
        "analyticsNextEnabled": true,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        // sampleRate 0: analytics.js sends no telemetry (to Segment's host by default).
        "metrics": {"sampleRate": 0},
        "legacyVideoPluginsEnabled": false,
        "remotePlugins": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_analytics_js_back_at_the_server() {
        let doc = document("uc_k", "http", "127.0.0.1:8787");
        let segment = &doc["integrations"]["Segment.io"];
        assert_eq!(segment["apiKey"], "uc_k");
        assert_eq!(segment["apiHost"], "127.0.0.1:8787/v1");
        assert_eq!(segment["protocol"], "http");
        assert_eq!(doc["integrations"].as_object().unwrap().len(), 1);
        assert_eq!(doc["metrics"]["sampleRate"], 0);
    }
}
