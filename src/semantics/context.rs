//! Profile fields taken from an event's `context`, on every call type.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::profile::UserField;

/// What a user-agent string tells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UaInfo {
    pub browser_family: Option<String>,
    pub browser_version: Option<String>,
    pub os: Option<String>,
    pub device_type: Option<String>,
    pub device_name: Option<String>,
}

/// Parses a user agent with woothee's built-in rules.
pub fn parse_user_agent(ua: &str) -> UaInfo {
    let Some(parsed) = woothee::parser::Parser::new().parse(ua) else {
        return UaInfo::default();
    };
    let known =
        |s: &str| (!s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN).then(|| s.to_string());
    let os_name = match parsed.os {
        "iPhone" | "iPad" | "iPod" => "iOS",
        other => other,
    };
    // Windows names carry their version ("Windows 10"; os_version is "NT 10.0").
    let os = known(os_name).map(|os| match known(&parsed.os_version) {
        Some(version) if !os.starts_with("Windows") && !os.contains(&version) => {
            format!("{os} {version}")
        }
        _ => os,
    });
    let device_type = match parsed.category {
        "pc" => Some("desktop".to_string()),
        "smartphone" | "mobilephone" => Some("mobile".to_string()),
        other => known(other),
    };
    let device_name = match parsed.os {
        "iPhone" | "iPad" | "iPod" => Some(parsed.os.to_string()),
        _ => None,
    };
    UaInfo {
        browser_family: known(parsed.name),
        browser_version: known(parsed.version),
        os,
        device_type,
        device_name,
    }
}

/// One parse per distinct user-agent string, bounded in size.
#[derive(Default)]
pub struct UaCache {
    parsed: HashMap<String, Arc<UaInfo>>,
}

impl UaCache {
    const CAPACITY: usize = 10_000;

    pub fn get(&mut self, ua: &str) -> Arc<UaInfo> {
        if let Some(info) = self.parsed.get(ua) {
            return info.clone();
        }
        if self.parsed.len() >= Self::CAPACITY {
            self.parsed.clear();
        }
        let info = Arc::new(parse_user_agent(ua));
        self.parsed.insert(ua.to_string(), info.clone());
        info
    }
}

/// The profile fields an event's context sets (only those present).
pub fn context_fields(
    context: &Map<String, Value>,
    ua: Option<&UaInfo>,
) -> Vec<(UserField, String)> {
    let mut out = Vec::new();
    let mut put = |field, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            out.push((field, v));
        }
    };
    let text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let device = context.get("device");
    let os_from_context = context.get("os").and_then(|os| {
        let name = text(os.get("name"))?;
        Some(match text(os.get("version")) {
            Some(version) => format!("{name} {version}"),
            None => name,
        })
    });
    let resolution = context.get("screen").and_then(|screen| {
        let width = text(screen.get("width"))?;
        let height = text(screen.get("height"))?;
        Some(format!("{width}x{height}"))
    });
    put(UserField::UserAgent, text(context.get("userAgent")));
    put(
        UserField::Os,
        os_from_context.or_else(|| ua.and_then(|u| u.os.clone())),
    );
    put(
        UserField::DeviceName,
        device
            .and_then(|d| text(d.get("name")).or_else(|| text(d.get("model"))))
            .or_else(|| ua.and_then(|u| u.device_name.clone())),
    );
    put(
        UserField::DeviceType,
        device
            .and_then(|d| text(d.get("type")))
            .or_else(|| ua.and_then(|u| u.device_type.clone())),
    );
    put(UserField::Language, text(context.get("locale")));
    put(UserField::Resolution, resolution);
    put(UserField::IpAddress, text(context.get("ip")));
    put(
        UserField::BrowserFamily,
        ua.and_then(|u| u.browser_family.clone()),
    );
    put(
        UserField::BrowserVersion,
        ua.and_then(|u| u.browser_version.clone()),
    );
    put(UserField::Timezone, text(context.get("timezone")));
    put(
        UserField::CurrentUrl,
        context.get("page").and_then(|p| text(p.get("url"))),
    );
    out
}

/// The user agent of an event's context, if any.
pub fn user_agent(context: &Map<String, Value>) -> Option<&str> {
    context.get("userAgent")?.as_str().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

    fn fields(context: Value) -> HashMap<UserField, String> {
        let map = context.as_object().unwrap().clone();
        let ua = user_agent(&map).map(parse_user_agent);
        context_fields(&map, ua.as_ref()).into_iter().collect()
    }

    #[test]
    fn browser_from_user_agent() {
        let info = parse_user_agent(CHROME_MAC);
        assert_eq!(info.browser_family.as_deref(), Some("Chrome"));
        assert_eq!(info.browser_version.as_deref(), Some("120.0.0.0"));
        assert_eq!(info.device_type.as_deref(), Some("desktop"));
        assert!(info.os.unwrap().starts_with("Mac OSX"));
        let windows = parse_user_agent(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
        );
        assert_eq!(windows.os.as_deref(), Some("Windows 10"));
        let phone = parse_user_agent(SAFARI_IPHONE);
        assert_eq!(phone.browser_family.as_deref(), Some("Safari"));
        assert_eq!(phone.device_type.as_deref(), Some("mobile"));
        assert_eq!(phone.device_name.as_deref(), Some("iPhone"));
    }

    #[test]
    fn garbage_user_agent_gives_nothing() {
        assert_eq!(parse_user_agent("%%%"), UaInfo::default());
    }

    #[test]
    fn maps_every_context_field() {
        let f = fields(json!({
            "userAgent": CHROME_MAC,
            "os": {"name": "iOS", "version": "17.1"},
            "device": {"model": "iPhone15,2", "type": "ios"},
            "locale": "pl-PL",
            "screen": {"width": 1920, "height": 1080},
            "ip": "203.0.113.9",
            "timezone": "Europe/Warsaw",
            "page": {"url": "https://shop.example.com/cart"}
        }));
        assert_eq!(f[&UserField::UserAgent], CHROME_MAC);
        assert_eq!(f[&UserField::Os], "iOS 17.1");
        assert_eq!(f[&UserField::DeviceName], "iPhone15,2");
        assert_eq!(f[&UserField::DeviceType], "ios");
        assert_eq!(f[&UserField::Language], "pl-PL");
        assert_eq!(f[&UserField::Resolution], "1920x1080");
        assert_eq!(f[&UserField::IpAddress], "203.0.113.9");
        assert_eq!(f[&UserField::BrowserFamily], "Chrome");
        assert_eq!(f[&UserField::BrowserVersion], "120.0.0.0");
        assert_eq!(f[&UserField::Timezone], "Europe/Warsaw");
        assert_eq!(f[&UserField::CurrentUrl], "https://shop.example.com/cart");
    }

    #[test]
    fn os_and_device_fall_back_to_user_agent() {
        let f = fields(json!({"userAgent": SAFARI_IPHONE}));
        assert!(
            f[&UserField::Os].starts_with("iOS"),
            "{:?}",
            f[&UserField::Os]
        );
        assert_eq!(f[&UserField::DeviceType], "mobile");
        assert_eq!(f[&UserField::DeviceName], "iPhone");
    }

    #[test]
    fn absent_context_sets_nothing() {
        assert!(fields(json!({})).is_empty());
        assert!(fields(json!({"screen": {"width": 10}, "os": "weird"})).is_empty());
    }

    #[test]
    fn cache_returns_same_parse() {
        let mut cache = UaCache::default();
        let a = cache.get(CHROME_MAC);
        let b = cache.get(CHROME_MAC);
        assert!(Arc::ptr_eq(&a, &b));
    }
}
