//! Profile fields taken from an event's `context`, on every call type.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::device::{UaInfo, device_class};
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
    use crate::semantics::device::parse_user_agent;
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
}
