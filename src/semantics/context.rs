//! Profile fields taken from an event's `context`, on every call type.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::profile::UserField;
use super::wire::{Broken, Lenient, Loose};

/// The parts of an event's `context` this destination reads, decoded directly (the
/// rest, such as `library` or `campaign`, is skipped). A part of an unexpected shape
/// (`"os": "iOS"`) is ignored rather than failing the event.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Context {
    pub ip: Lenient<Loose>,
    pub locale: Lenient<Loose>,
    pub user_agent: Lenient<Loose>,
    pub timezone: Lenient<Loose>,
    pub os: Lenient<NameVersion>,
    pub device: Lenient<Device>,
    pub screen: Lenient<Screen>,
    pub page: Lenient<PageContext>,
    pub traits: Lenient<Map<String, Value>>,
    pub personas: Lenient<Personas>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NameVersion {
    pub name: Lenient<Loose>,
    pub version: Lenient<Loose>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Device {
    pub name: Lenient<Loose>,
    pub model: Lenient<Loose>,
    #[serde(rename = "type")]
    pub kind: Lenient<Loose>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Screen {
    pub width: Lenient<Loose>,
    pub height: Lenient<Loose>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PageContext {
    pub url: Lenient<Loose>,
    pub path: Lenient<Loose>,
    pub title: Lenient<Loose>,
    pub referrer: Lenient<Loose>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Personas {
    pub computation_class: Lenient<Loose>,
    pub computation_key: Lenient<Loose>,
}

impl Context {
    /// The parts skipped because they failed to decode half-way, with why.
    pub fn broken_parts(&self) -> Vec<(&'static str, &Broken)> {
        [
            ("context.ip", self.ip.1.as_ref()),
            ("context.locale", self.locale.1.as_ref()),
            ("context.userAgent", self.user_agent.1.as_ref()),
            ("context.timezone", self.timezone.1.as_ref()),
            ("context.os", self.os.1.as_ref()),
            ("context.device", self.device.1.as_ref()),
            ("context.screen", self.screen.1.as_ref()),
            ("context.page", self.page.1.as_ref()),
            ("context.traits", self.traits.1.as_ref()),
            ("context.personas", self.personas.1.as_ref()),
        ]
        .into_iter()
        .filter_map(|(name, broken)| Some((name, broken?)))
        .collect()
    }
}

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
    // Android tablets leave "Mobile" out of their user agent.
    let tablet = parsed.os == "iPad" || (parsed.os == "Android" && !ua.contains("Mobile"));
    let device_type = match parsed.category {
        "pc" => Some("desktop"),
        "smartphone" | "mobilephone" if tablet => Some("tablet"),
        "smartphone" | "mobilephone" => Some("mobile"),
        "crawler" => Some("bot"),
        "appliance" => Some(appliance_class(parsed.name)),
        "misc" => Some("other"),
        _ => None,
    }
    .map(str::to_string);
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

/// woothee's appliances are game consoles and TV sets.
fn appliance_class(name: &str) -> &'static str {
    let name = name.to_ascii_lowercase();
    if ["playstation", "nintendo", "wii", "xbox", "psp"]
        .iter()
        .any(|c| name.contains(c))
    {
        "console"
    } else if name.contains("tv") {
        "tv"
    } else {
        "other"
    }
}

/// The device types usercom stores, whatever the source calls them.
pub const DEVICE_TYPES: &[&str] = &[
    "desktop", "mobile", "tablet", "tv", "console", "bot", "other",
];

/// `context.device.type` as one of [`DEVICE_TYPES`]: mobile libraries send the platform
/// (`ios`, `android`), which is a phone unless the model says tablet (an iPad).
fn device_class(kind: &str, model: Option<&str>) -> &'static str {
    let kind = kind.trim().to_ascii_lowercase();
    if let Some(known) = DEVICE_TYPES.iter().find(|t| **t == kind) {
        return known;
    }
    let model = model.unwrap_or("").to_ascii_lowercase();
    match kind.as_str() {
        "ios" | "android" | "ipados" if model.contains("ipad") || model.contains("tablet") => {
            "tablet"
        }
        "ipados" => "tablet",
        "ios" | "android" | "phone" | "smartphone" | "mobilephone" | "handset" => "mobile",
        "pc" | "computer" | "laptop" | "macos" | "windows" | "linux" => "desktop",
        "smarttv" | "smart-tv" | "tvos" | "androidtv" | "android-tv" => "tv",
        "crawler" | "robot" | "spider" => "bot",
        "game-console" | "gameconsole" => "console",
        _ => "other",
    }
}

/// One parse per distinct user-agent string, bounded in size.
#[derive(Default)]
pub struct UaCache {
    parsed: foldhash::HashMap<String, Arc<UaInfo>>,
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

/// The profile fields an event's context sets (only those present); `current_url` is
/// the event's (`Event::page_url`).
pub fn context_fields(context: &Context, ua: Option<&UaInfo>) -> Vec<(UserField, String)> {
    let mut out = Vec::with_capacity(11);
    let mut put = |field, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            out.push((field, v));
        }
    };
    let device = context.device.get();
    let os_from_context = context.os.get().and_then(|os| {
        let name = os.name.text()?;
        Some(match os.version.text() {
            Some(version) => format!("{name} {version}"),
            None => name,
        })
    });
    let resolution = context.screen.get().and_then(|screen| {
        Some(format!(
            "{}x{}",
            screen.width.text()?,
            screen.height.text()?
        ))
    });
    put(UserField::UserAgent, context.user_agent.text());
    put(
        UserField::Os,
        os_from_context.or_else(|| ua.and_then(|u| u.os.clone())),
    );
    // The model (`Pixel 8`) over the name, which is often a codename (`shiba`).
    put(
        UserField::DeviceName,
        device
            .and_then(|d| d.model.text().or_else(|| d.name.text()))
            .or_else(|| ua.and_then(|u| u.device_name.clone())),
    );
    // The user agent's class where there is one, else the device's type as a class.
    put(
        UserField::DeviceType,
        ua.and_then(|u| u.device_type.clone()).or_else(|| {
            let device = device?;
            let model = device.model.text().or_else(|| device.name.text());
            Some(device_class(&device.kind.text()?, model.as_deref()).to_string())
        }),
    );
    put(UserField::Language, context.locale.text());
    put(UserField::Resolution, resolution);
    put(UserField::IpAddress, context.ip.text());
    put(
        UserField::BrowserFamily,
        ua.and_then(|u| u.browser_family.clone()),
    );
    put(
        UserField::BrowserVersion,
        ua.and_then(|u| u.browser_version.clone()),
    );
    put(UserField::Timezone, context.timezone.text());
    out
}

/// The user agent of an event's context, if any.
pub fn user_agent(context: &Context) -> Option<&str> {
    match context.user_agent.get()? {
        Loose::Text(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

    fn fields(context: Value) -> HashMap<UserField, String> {
        let context: Context = serde_json::from_value(context).unwrap();
        let ua = user_agent(&context).map(parse_user_agent);
        context_fields(&context, ua.as_ref()).into_iter().collect()
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
    fn device_type_is_a_class_whatever_the_source() {
        let ipad = "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        let android_tablet = "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        let bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
        let ty = |context: Value| fields(context).get(&UserField::DeviceType).cloned();
        assert_eq!(ty(json!({"userAgent": ipad})).as_deref(), Some("tablet"));
        assert_eq!(
            ty(json!({"userAgent": android_tablet})).as_deref(),
            Some("tablet")
        );
        assert_eq!(ty(json!({"userAgent": bot})).as_deref(), Some("bot"));
        // The user agent's class wins over a platform name.
        assert_eq!(
            ty(json!({"userAgent": SAFARI_IPHONE, "device": {"type": "ios"}})).as_deref(),
            Some("mobile")
        );
        // Mobile libraries: a platform, not a device type.
        let device = |d: Value| ty(json!({"device": d}));
        assert_eq!(
            device(json!({"type": "ios", "model": "iPhone15,2"})).as_deref(),
            Some("mobile")
        );
        assert_eq!(
            device(json!({"type": "ios", "model": "iPad13,4"})).as_deref(),
            Some("tablet")
        );
        assert_eq!(
            device(json!({"type": "android", "model": "Pixel 8"})).as_deref(),
            Some("mobile")
        );
        assert_eq!(device(json!({"type": "Tablet"})).as_deref(), Some("tablet"));
        assert_eq!(device(json!({"type": "phone"})).as_deref(), Some("mobile"));
        assert_eq!(device(json!({"type": "fridge"})).as_deref(), Some("other"));
    }

    #[test]
    fn device_name_prefers_the_model_over_a_codename() {
        let f = fields(json!({"device": {"name": "shiba", "model": "Pixel 8", "type": "android"}}));
        assert_eq!(f[&UserField::DeviceName], "Pixel 8");
        let f = fields(json!({"device": {"name": "Ada's phone"}}));
        assert_eq!(f[&UserField::DeviceName], "Ada's phone");
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
        assert_eq!(
            f[&UserField::DeviceType],
            "desktop",
            "the user agent's class"
        );
        assert_eq!(f[&UserField::Language], "pl-PL");
        assert_eq!(f[&UserField::Resolution], "1920x1080");
        assert_eq!(f[&UserField::IpAddress], "203.0.113.9");
        assert_eq!(f[&UserField::BrowserFamily], "Chrome");
        assert_eq!(f[&UserField::BrowserVersion], "120.0.0.0");
        assert_eq!(f[&UserField::Timezone], "Europe/Warsaw");
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
    fn parts_of_unexpected_shape_are_skipped() {
        let f = fields(json!({
            "os": "iOS", "page": [1, 2], "ip": {"v4": "1.2.3.4"}, "device": null,
            "screen": {"width": "10", "height": 20, "density": [2]},
            "library": {"name": "analytics.js"}, "locale": 7
        }));
        assert_eq!(
            f.get(&UserField::Resolution).map(String::as_str),
            Some("10x20")
        );
        assert_eq!(f.get(&UserField::Language).map(String::as_str), Some("7"));
        assert!(!f.contains_key(&UserField::Os));
        assert!(!f.contains_key(&UserField::IpAddress));
    }

    #[test]
    fn cache_returns_same_parse() {
        let mut cache = UaCache::default();
        let a = cache.get(CHROME_MAC);
        let b = cache.get(CHROME_MAC);
        assert!(Arc::ptr_eq(&a, &b));
    }
}
