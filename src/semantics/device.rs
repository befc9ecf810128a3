//! What a device is: a user agent parsed (browser, OS, device class), and the device
//! types usercom stores whatever the source calls them.

use std::sync::Arc;

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
pub(crate) fn device_class(kind: &str, model: Option<&str>) -> &'static str {
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

thread_local! {
    static THREAD_UA_CACHE: std::cell::RefCell<UaCache> = std::cell::RefCell::new(UaCache::default());
}

/// A user agent parsed, through this thread's cache (events are decoded on several
/// threads: each keeps its own).
pub fn parse_user_agent_cached(ua: &str) -> Arc<UaInfo> {
    THREAD_UA_CACHE.with(|cache| cache.borrow_mut().get(ua))
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

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

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
    fn cache_returns_same_parse() {
        let mut cache = UaCache::default();
        let a = cache.get(CHROME_MAC);
        let b = cache.get(CHROME_MAC);
        assert!(Arc::ptr_eq(&a, &b));
    }
}
