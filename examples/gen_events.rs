//! Deterministic generator of a realistic, mixed Segment event stream (ndjson).
//!
//! ```text
//! cargo run --release --example gen_events -- --events 1000000 --out /tmp/events.ndjson
//! ```
//!
//! The same arguments always produce the same bytes. Events are shaped like what
//! analytics.js (analytics-next), the mobile libraries and the server libraries deliver
//! through Segment: about 10% identify, 45% track, 40% page and 5% group calls of
//! about 1 KB each, with full `context`, four timestamps and unique `messageId`s.
//! With `--malformed RATE`, that fraction of lines is replaced by bad lines; the good
//! lines that remain are exactly the ones a run without `--malformed` would write.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use clap::Parser;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

// ---------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------

#[derive(Parser, Debug)]
#[command(
    name = "gen_events",
    about = "Generate a deterministic, realistic Segment event stream as ndjson",
    long_about = "Generate a deterministic, realistic Segment event stream as ndjson \
                  (one event per line, about 1 KB each): ~10% identify, 45% track, \
                  40% page, 5% group, with analytics.js-like context, timestamps spread \
                  over --days days from --start, and unique messageIds. Events go to \
                  stdout unless --out is given; a one-line summary goes to stderr."
)]
struct Args {
    /// Number of lines to write
    #[arg(long, value_name = "N")]
    events: u64,

    /// Random seed: the same arguments always produce the same output
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,

    /// Number of users in the pool (userIds user-0001, user-0002, ...)
    #[arg(long, value_name = "U", default_value_t = 50_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    users: u32,

    /// Number of companies in the pool (groupIds company-01, company-02, ...)
    #[arg(long, value_name = "C", default_value_t = 5_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    companies: u32,

    /// Fraction of lines (0..1) replaced by malformed or invalid lines
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    malformed: f64,

    /// First day (UTC) of the time range the events are spread over
    #[arg(long, value_name = "YYYY-MM-DD", default_value = "2026-03-01")]
    start: NaiveDate,

    /// Length of the time range, in days
    #[arg(long, value_name = "DAYS", default_value_t = 92,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    days: u32,

    /// Output file (default: stdout)
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err("must be between 0 and 1".into())
    }
}

// ---------------------------------------------------------------------------------------
// Static pools
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Desktop,
    Mobile,
    Tablet,
}

struct Agent {
    ua: &'static str,
    weight: u32,
    form: Form,
    os: (&'static str, &'static str),
    /// (manufacturer, model) for mobile devices.
    device: Option<(&'static str, &'static str)>,
    screens: &'static [(u16, u16)],
}

const DESKTOP: &[(u16, u16)] = &[
    (1920, 1080),
    (1536, 864),
    (1366, 768),
    (1440, 900),
    (2560, 1440),
    (1680, 1050),
];
const MAC: &[(u16, u16)] = &[(1440, 900), (1512, 982), (1728, 1117), (2560, 1440)];
const IPHONE: &[(u16, u16)] = &[(390, 844), (393, 852), (430, 932), (375, 667)];
const ANDROID: &[(u16, u16)] = &[(412, 915), (384, 854), (360, 800), (412, 892)];
const TABLET: &[(u16, u16)] = &[(820, 1180), (768, 1024), (800, 1280)];

const fn desktop(
    ua: &'static str,
    weight: u32,
    os: (&'static str, &'static str),
    screens: &'static [(u16, u16)],
) -> Agent {
    Agent {
        ua,
        weight,
        form: Form::Desktop,
        os,
        device: None,
        screens,
    }
}

const fn mobile(
    ua: &'static str,
    weight: u32,
    form: Form,
    os: (&'static str, &'static str),
    device: (&'static str, &'static str),
    screens: &'static [(u16, u16)],
) -> Agent {
    Agent {
        ua,
        weight,
        form,
        os,
        device: Some(device),
        screens,
    }
}

const WIN10: (&str, &str) = ("Windows", "10");
const MACOS: (&str, &str) = ("Mac OS X", "10.15.7");
const LINUX: (&str, &str) = ("Linux", "");
const PHONE: Form = Form::Mobile;

/// Real desktop and mobile browser user agents, weighted roughly by market share.
#[rustfmt::skip]
static AGENTS: &[Agent] = &[
    desktop("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 160, WIN10, DESKTOP),
    desktop("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36", 60, WIN10, DESKTOP),
    desktop("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36", 25, WIN10, DESKTOP),
    desktop("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 70, MACOS, MAC),
    desktop("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 15, LINUX, DESKTOP),
    desktop("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 8, ("Chrome OS", "14541.0.0"), DESKTOP),
    desktop("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0", 55, WIN10, DESKTOP),
    desktop("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0", 8, MACOS, MAC),
    desktop("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0", 30, WIN10, DESKTOP),
    desktop("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:140.0) Gecko/20100101 Firefox/140.0", 10, MACOS, MAC),
    desktop("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:139.0) Gecko/20100101 Firefox/139.0", 8, ("Ubuntu", ""), DESKTOP),
    desktop("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", 4, LINUX, DESKTOP),
    desktop("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15", 45, MACOS, MAC),
    desktop("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15", 12, MACOS, MAC),
    desktop("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 OPR/120.0.0.0", 8, WIN10, DESKTOP),
    desktop("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36 Vivaldi/7.4.3684.55", 3, WIN10, DESKTOP),
    mobile("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1", 120, PHONE, ("iOS", "18.5"), ("Apple", "iPhone16,2"), IPHONE),
    mobile("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", 40, PHONE, ("iOS", "17.6.1"), ("Apple", "iPhone14,5"), IPHONE),
    mobile("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/138.0.7204.119 Mobile/15E148 Safari/604.1", 20, PHONE, ("iOS", "18.5"), ("Apple", "iPhone15,3"), IPHONE),
    mobile("Mozilla/5.0 (iPhone; CPU iPhone OS 18_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/140.0 Mobile/15E148 Safari/605.1.15", 5, PHONE, ("iOS", "18.4"), ("Apple", "iPhone15,2"), IPHONE),
    mobile("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 385.0.0.23.84 (iPhone15,3; iOS 18_5; en_US; en; scale=3.00; 1290x2796; 744370455)", 8, PHONE, ("iOS", "18.5"), ("Apple", "iPhone15,3"), IPHONE),
    mobile("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36", 110, PHONE, ("Android", "14"), ("samsung", "SM-S918B"), ANDROID),
    mobile("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.7151.115 Mobile Safari/537.36", 15, PHONE, ("Android", "14"), ("samsung", "SM-S918B"), ANDROID),
    mobile("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.7204.63 Mobile Safari/537.36", 15, PHONE, ("Android", "14"), ("Google", "Pixel 8"), ANDROID),
    mobile("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36", 20, PHONE, ("Android", "14"), ("samsung", "SM-A546B"), ANDROID),
    mobile("Mozilla/5.0 (Android 14; Mobile; rv:140.0) Gecko/140.0 Firefox/140.0", 4, PHONE, ("Android", "14"), ("Google", "Pixel 7a"), ANDROID),
    mobile("Mozilla/5.0 (Linux; Android 13; 2201117TG) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Mobile Safari/537.36", 8, PHONE, ("Android", "13"), ("Xiaomi", "2201117TG"), ANDROID),
    mobile("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36 EdgA/138.0.0.0", 3, PHONE, ("Android", "15"), ("OnePlus", "CPH2581"), ANDROID),
    mobile("Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1", 15, Form::Tablet, ("iPadOS", "18.5"), ("Apple", "iPad13,18"), TABLET),
    mobile("Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 4, Form::Tablet, ("Android", "14"), ("samsung", "SM-X710"), TABLET),
];

struct Place {
    city: &'static str,
    state: &'static str,
    country_code: &'static str,
    country_name: &'static str,
    /// `#` is replaced by a random digit.
    postal: &'static str,
    locale: &'static str,
    timezone: &'static str,
    /// `#` is replaced by a random digit.
    phone: &'static str,
    streets: &'static [&'static str],
    /// "12 Main St" rather than "Hauptstraße 12".
    number_first: bool,
    /// First octets of plausible public IPv4 addresses.
    ip_octets: &'static [u8],
    weight: u32,
}

#[rustfmt::skip]
mod streets {
    pub const US: &[&str] = &["Market Street", "Main St", "Oak Avenue", "Broadway", "Elm Street", "5th Ave"];
    pub const GB: &[&str] = &["Baker Street", "High Street", "Oxford Road", "Station Road"];
    pub const DE: &[&str] = &["Hauptstraße", "Bahnhofstraße", "Friedrichstraße", "Schillerstraße"];
    pub const FR: &[&str] = &["Rue de Rivoli", "Avenue des Champs-Élysées", "Rue Oberkampf", "Boulevard Voltaire"];
    pub const PL: &[&str] = &["ul. Marszałkowska", "ul. Długa", "ul. Floriańska", "al. Jerozolimskie"];
    pub const ES: &[&str] = &["Calle Mayor", "Gran Vía", "Calle de Alcalá"];
    pub const NL: &[&str] = &["Keizersgracht", "Prinsengracht", "Damrak"];
    pub const IT: &[&str] = &["Via Roma", "Corso Buenos Aires", "Via Torino"];
    pub const BR: &[&str] = &["Rua Augusta", "Avenida Paulista", "Rua Oscar Freire"];
    pub const JP: &[&str] = &["Shibuya 2-chome", "Ginza 4-chome", "Shinjuku 3-chome"];
    pub const CA: &[&str] = &["Queen Street West", "King Street East", "Yonge Street"];
    pub const AU: &[&str] = &["George Street", "Pitt Street", "Oxford Street"];
}

#[rustfmt::skip]
static PLACES: &[Place] = &[
    Place { city: "San Francisco", state: "CA", country_code: "US", country_name: "United States", postal: "941##", locale: "en-US", timezone: "America/Los_Angeles", phone: "+1 415-555-####", streets: streets::US, number_first: true, ip_octets: &[73, 98, 104, 172], weight: 14 },
    Place { city: "New York", state: "NY", country_code: "US", country_name: "United States", postal: "100##", locale: "en-US", timezone: "America/New_York", phone: "(212) 555-####", streets: streets::US, number_first: true, ip_octets: &[24, 67, 71, 108], weight: 18 },
    Place { city: "Chicago", state: "IL", country_code: "US", country_name: "United States", postal: "606##", locale: "en-US", timezone: "America/Chicago", phone: "+1 312-555-####", streets: streets::US, number_first: true, ip_octets: &[50, 73, 99], weight: 9 },
    Place { city: "Austin", state: "TX", country_code: "US", country_name: "United States", postal: "787##", locale: "en-US", timezone: "America/Chicago", phone: "512.555.####", streets: streets::US, number_first: true, ip_octets: &[66, 70, 97], weight: 7 },
    Place { city: "Seattle", state: "WA", country_code: "US", country_name: "USA", postal: "981##", locale: "en-US", timezone: "America/Los_Angeles", phone: "+1 206 555 ####", streets: streets::US, number_first: true, ip_octets: &[67, 76, 174], weight: 6 },
    Place { city: "London", state: "England", country_code: "GB", country_name: "United Kingdom", postal: "EC#A #BB", locale: "en-GB", timezone: "Europe/London", phone: "+44 20 #### ####", streets: streets::GB, number_first: true, ip_octets: &[81, 86, 90, 92], weight: 10 },
    Place { city: "Manchester", state: "England", country_code: "GB", country_name: "United Kingdom", postal: "M# #AE", locale: "en-GB", timezone: "Europe/London", phone: "+44 161 ### ####", streets: streets::GB, number_first: true, ip_octets: &[82, 86, 109], weight: 3 },
    Place { city: "Berlin", state: "Berlin", country_code: "DE", country_name: "Germany", postal: "10###", locale: "de-DE", timezone: "Europe/Berlin", phone: "+49 30 ########", streets: streets::DE, number_first: false, ip_octets: &[77, 84, 91, 93], weight: 7 },
    Place { city: "München", state: "Bayern", country_code: "DE", country_name: "Deutschland", postal: "80###", locale: "de-DE", timezone: "Europe/Berlin", phone: "+49 89 #######", streets: streets::DE, number_first: false, ip_octets: &[79, 87, 95], weight: 4 },
    Place { city: "Paris", state: "Île-de-France", country_code: "FR", country_name: "France", postal: "750##", locale: "fr-FR", timezone: "Europe/Paris", phone: "+33 6 ## ## ## ##", streets: streets::FR, number_first: true, ip_octets: &[78, 82, 90, 176], weight: 6 },
    Place { city: "Warszawa", state: "Mazowieckie", country_code: "PL", country_name: "Poland", postal: "0#-###", locale: "pl-PL", timezone: "Europe/Warsaw", phone: "+48 6## ### ###", streets: streets::PL, number_first: false, ip_octets: &[31, 83, 89, 178], weight: 5 },
    Place { city: "Kraków", state: "Małopolskie", country_code: "PL", country_name: "Polska", postal: "3#-###", locale: "pl-PL", timezone: "Europe/Warsaw", phone: "+48 5## ### ###", streets: streets::PL, number_first: false, ip_octets: &[31, 46, 188], weight: 3 },
    Place { city: "Madrid", state: "Comunidad de Madrid", country_code: "ES", country_name: "Spain", postal: "280##", locale: "es-ES", timezone: "Europe/Madrid", phone: "+34 6## ### ###", streets: streets::ES, number_first: false, ip_octets: &[80, 83, 88], weight: 4 },
    Place { city: "Amsterdam", state: "Noord-Holland", country_code: "NL", country_name: "Netherlands", postal: "10## AB", locale: "nl-NL", timezone: "Europe/Amsterdam", phone: "+31 6 ########", streets: streets::NL, number_first: false, ip_octets: &[62, 84, 145], weight: 3 },
    Place { city: "Milano", state: "Lombardia", country_code: "IT", country_name: "Italy", postal: "201##", locale: "it-IT", timezone: "Europe/Rome", phone: "+39 3## ### ####", streets: streets::IT, number_first: false, ip_octets: &[79, 87, 93], weight: 3 },
    Place { city: "São Paulo", state: "SP", country_code: "BR", country_name: "Brazil", postal: "0####-###", locale: "pt-BR", timezone: "America/Sao_Paulo", phone: "+55 11 9####-####", streets: streets::BR, number_first: false, ip_octets: &[177, 179, 187, 189], weight: 4 },
    Place { city: "Tokyo", state: "Tokyo", country_code: "JP", country_name: "Japan", postal: "1##-####", locale: "ja-JP", timezone: "Asia/Tokyo", phone: "+81 90-####-####", streets: streets::JP, number_first: false, ip_octets: &[60, 126, 153], weight: 3 },
    Place { city: "Toronto", state: "ON", country_code: "CA", country_name: "Canada", postal: "M5V #A#", locale: "en-CA", timezone: "America/Toronto", phone: "+1 416-555-####", streets: streets::CA, number_first: true, ip_octets: &[99, 142, 174], weight: 4 },
    Place { city: "Sydney", state: "NSW", country_code: "AU", country_name: "Australia", postal: "20##", locale: "en-AU", timezone: "Australia/Sydney", phone: "+61 4## ### ###", streets: streets::AU, number_first: true, ip_octets: &[1, 49, 101, 120], weight: 3 },
];

#[derive(Clone, Copy)]
enum Sex {
    Male,
    Female,
}

use Sex::{Female as F, Male as M};

#[rustfmt::skip]
static FIRST_NAMES: &[(&str, Sex)] = &[
    ("James", M), ("Mary", F), ("John", M), ("Patricia", F), ("Michael", M), ("Jennifer", F),
    ("David", M), ("Linda", F), ("William", M), ("Elizabeth", F), ("Daniel", M), ("Sarah", F),
    ("Thomas", M), ("Emma", F), ("Oliver", M), ("Olivia", F), ("Lukas", M), ("Hannah", F),
    ("Jürgen", M), ("Zoë", F), ("Łukasz", M), ("Agnieszka", F), ("Piotr", M), ("Małgorzata", F),
    ("José", M), ("María", F), ("Javier", M), ("Lucía", F), ("Pierre", M), ("Chloé", F),
    ("Luca", M), ("Giulia", F), ("João", M), ("Ana", F), ("Haruto", M), ("Yui", F),
    ("Noah", M), ("Sophie", F), ("Liam", M), ("Amelia", F),
];

#[rustfmt::skip]
static LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Lee", "Clark", "O'Brien", "Walker",
    "Müller", "Schmidt", "Schneider", "Fischer", "Nowak", "Kowalski", "Wiśniewski", "Wójcik",
    "García", "Fernández", "López", "Dubois", "Lefèvre", "Rossi", "Bianchi", "Silva", "Santos",
    "Tanaka", "Suzuki", "van der Berg", "de Jong", "MacDonald",
];

#[rustfmt::skip]
static EMAIL_DOMAINS: &[&str] = &[
    "gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "hotmail.com",
    "icloud.com", "proton.me", "gmx.de", "wp.pl", "orange.fr", "example.org",
];

static PLANS: &[&str] = &[
    "free",
    "free",
    "starter",
    "pro",
    "pro",
    "business",
    "enterprise",
];
static GROUP_PLANS: &[&str] = &["startup", "growth", "business", "enterprise"];

#[rustfmt::skip]
static INDUSTRIES: &[&str] = &[
    "E-commerce", "Software", "Retail", "Financial Services", "Healthcare", "Education",
    "Media", "Travel", "Logistics", "Manufacturing", "Real Estate", "Non-profit",
];

#[rustfmt::skip]
static COMPANY_WORDS: &[&str] = &[
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Soylent", "Tyrell",
    "Cyberdyne", "Wonka", "Nakatomi", "Aperture", "Pied Piper", "Bluth", "Dunder Mifflin",
    "Sterling Cooper", "Virtucon", "Massive Dynamic", "Gringotts", "Northwind", "Contoso",
    "Fabrikam", "Wayne", "Stark", "Oscorp", "Prestige", "Zorg", "Monarch", "Blue Sun", "Duff",
];

#[rustfmt::skip]
static COMPANY_NOUNS: &[&str] = &[
    "Logistics", "Labs", "Analytics", "Systems", "Foods", "Media", "Travel", "Retail",
    "Robotics", "Health", "Capital", "Studio", "Outdoor", "Energy", "Software",
];

#[rustfmt::skip]
static COMPANY_SUFFIXES: &[&str] = &[
    "Inc.", "Ltd", "GmbH", "Sp. z o.o.", "SAS", "LLC", "S.L.", "B.V.", "", "",
];

static DESCRIPTIONS: &[&str] = &[
    "Builds tools that help small teams ship faster.",
    "Family-owned retailer with stores in three countries.",
    "B2B marketplace for industrial spare parts.",
    "Subscription box for outdoor enthusiasts.",
    "Digital agency focused on e-commerce and CRO.",
    "Fintech startup offering invoicing for freelancers.",
    "Regional logistics provider, same-day delivery.",
];

#[rustfmt::skip]
static CATEGORIES: &[&str] = &[
    "shoes", "jackets", "camping", "climbing", "cycling", "accessories",
];

struct Product {
    id: &'static str,
    sku: &'static str,
    name: &'static str,
    slug: &'static str,
    category: &'static str,
    brand: &'static str,
    variant: &'static str,
    price: f64,
}

#[rustfmt::skip]
static PRODUCTS: &[Product] = &[
    Product { id: "prod-1001", sku: "NW-TR2-42", name: "Trail Runner 2", slug: "trail-runner-2", category: "Shoes", brand: "Northwind", variant: "42 / Slate", price: 129.99 },
    Product { id: "prod-1002", sku: "NW-TR2-W38", name: "Trail Runner 2 Women", slug: "trail-runner-2-women", category: "Shoes", brand: "Northwind", variant: "38 / Coral", price: 129.99 },
    Product { id: "prod-1003", sku: "SU-HKB-44", name: "Summit Hiking Boot", slug: "summit-hiking-boot", category: "Shoes", brand: "Summit", variant: "44 / Brown", price: 189.0 },
    Product { id: "prod-1004", sku: "SU-APR-01", name: "Approach Shoe Pro", slug: "approach-shoe-pro", category: "Shoes", brand: "Summit", variant: "41 / Black", price: 149.5 },
    Product { id: "prod-1101", sku: "NW-SHL-M", name: "Storm Shell Jacket", slug: "storm-shell-jacket", category: "Jackets", brand: "Northwind", variant: "M / Navy", price: 249.0 },
    Product { id: "prod-1102", sku: "NW-DWN-L", name: "Featherlite Down Jacket", slug: "featherlite-down-jacket", category: "Jackets", brand: "Northwind", variant: "L / Olive", price: 219.99 },
    Product { id: "prod-1103", sku: "FJ-FLC-S", name: "Polar Fleece Hoodie", slug: "polar-fleece-hoodie", category: "Jackets", brand: "Fjordline", variant: "S / Grey", price: 79.9 },
    Product { id: "prod-1104", sku: "FJ-RAIN-XL", name: "Packable Rain Jacket", slug: "packable-rain-jacket", category: "Jackets", brand: "Fjordline", variant: "XL / Yellow", price: 99.0 },
    Product { id: "prod-1201", sku: "BC-TNT-2P", name: "Ridge 2P Tent", slug: "ridge-2p-tent", category: "Camping", brand: "Basecamp", variant: "2-person", price: 329.0 },
    Product { id: "prod-1202", sku: "BC-TNT-4P", name: "Family Dome 4P Tent", slug: "family-dome-4p-tent", category: "Camping", brand: "Basecamp", variant: "4-person", price: 449.0 },
    Product { id: "prod-1203", sku: "BC-SLB-R", name: "Alpine Sleeping Bag -5°C", slug: "alpine-sleeping-bag", category: "Camping", brand: "Basecamp", variant: "Regular", price: 159.0 },
    Product { id: "prod-1204", sku: "BC-STV-01", name: "Titanium Camp Stove", slug: "titanium-camp-stove", category: "Camping", brand: "Basecamp", variant: "Standard", price: 64.95 },
    Product { id: "prod-1205", sku: "BC-MAT-UL", name: "Ultralight Sleeping Mat", slug: "ultralight-sleeping-mat", category: "Camping", brand: "Basecamp", variant: "Long", price: 119.0 },
    Product { id: "prod-1301", sku: "VT-HRN-M", name: "Vertical Climbing Harness", slug: "vertical-climbing-harness", category: "Climbing", brand: "Vertex", variant: "M", price: 69.0 },
    Product { id: "prod-1302", sku: "VT-RPE-60", name: "Dynamic Rope 9.8mm 60m", slug: "dynamic-rope-60m", category: "Climbing", brand: "Vertex", variant: "60 m / Blue", price: 179.0 },
    Product { id: "prod-1303", sku: "VT-CHK-01", name: "Chalk Bag & Brush", slug: "chalk-bag-brush", category: "Climbing", brand: "Vertex", variant: "Standard", price: 24.5 },
    Product { id: "prod-1401", sku: "VL-HLM-M", name: "Aero Road Helmet", slug: "aero-road-helmet", category: "Cycling", brand: "Velo", variant: "M / White", price: 139.0 },
    Product { id: "prod-1402", sku: "VL-LGT-SET", name: "USB-C Bike Light Set", slug: "usb-c-bike-light-set", category: "Cycling", brand: "Velo", variant: "Set", price: 49.99 },
    Product { id: "prod-1403", sku: "VL-BTL-750", name: "Insulated Bottle 750 ml", slug: "insulated-bottle-750", category: "Cycling", brand: "Velo", variant: "750 ml", price: 19.9 },
    Product { id: "prod-1501", sku: "NW-BPK-28", name: "Daypack 28L", slug: "daypack-28l", category: "Accessories", brand: "Northwind", variant: "28 L / Black", price: 89.0 },
    Product { id: "prod-1502", sku: "NW-HLP-400", name: "Headlamp 400 lm", slug: "headlamp-400", category: "Accessories", brand: "Northwind", variant: "Standard", price: 39.95 },
    Product { id: "prod-1503", sku: "FJ-SCK-3P", name: "Merino Hiking Socks (3 pack)", slug: "merino-hiking-socks", category: "Accessories", brand: "Fjordline", variant: "M", price: 34.0 },
    Product { id: "prod-1504", sku: "FJ-GLV-L", name: "Touchscreen Gloves", slug: "touchscreen-gloves", category: "Accessories", brand: "Fjordline", variant: "L", price: 29.0 },
    Product { id: "prod-1505", sku: "BC-KNF-01", name: "Folding Knife", slug: "folding-knife", category: "Accessories", brand: "Basecamp", variant: "Standard", price: 44.0 },
];

#[rustfmt::skip]
static SEARCH_QUERIES: &[&str] = &[
    "tent", "rain jacket", "trail running shoes", "sleeping bag", "headlamp", "merino socks",
    "harness", "helmet", "down jacket women", "stove",
];

static BLOG_POSTS: &[(&str, &str)] = &[
    (
        "how-we-cut-page-load-by-40-percent",
        "How we cut page load by 40%",
    ),
    (
        "segment-vs-rudderstack",
        "Segment vs. RudderStack: an honest comparison",
    ),
    ("customer-journeys-101", "Customer journeys 101"),
    ("release-notes-october", "Release notes: October"),
    (
        "gdpr-consent-checklist",
        "A GDPR consent checklist for marketers",
    ),
];

static DOCS_PAGES: &[(&str, &str)] = &[
    ("getting-started", "Getting started"),
    ("sources/javascript", "JavaScript source"),
    ("destinations/user-com", "User.com destination"),
    ("api/http", "HTTP API"),
];

static EXTERNAL_REFERRERS: &[&str] = &[
    "https://www.google.com/",
    "https://www.google.com/",
    "https://www.google.de/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://t.co/",
    "https://l.facebook.com/",
    "https://www.instagram.com/",
    "https://news.ycombinator.com/",
    "https://www.reddit.com/",
];

struct Campaign {
    search: &'static str,
    name: &'static str,
    source: &'static str,
    medium: &'static str,
}

#[rustfmt::skip]
static CAMPAIGNS: &[Campaign] = &[
    Campaign { search: "?utm_source=newsletter&utm_medium=email&utm_campaign=autumn_sale", name: "autumn_sale", source: "newsletter", medium: "email" },
    Campaign { search: "?utm_source=google&utm_medium=cpc&utm_campaign=brand_search", name: "brand_search", source: "google", medium: "cpc" },
    Campaign { search: "?utm_source=facebook&utm_medium=paid_social&utm_campaign=retargeting_q3", name: "retargeting_q3", source: "facebook", medium: "paid_social" },
    Campaign { search: "?utm_source=partner&utm_medium=referral&utm_campaign=affiliate", name: "affiliate", source: "partner", medium: "referral" },
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum TrackKind {
    ProductViewed,
    ProductAdded,
    ProductsSearched,
    CartViewed,
    CheckoutStarted,
    OrderCompleted,
    CouponApplied,
    SignedUp,
    SignedIn,
    NewsletterSubscribed,
}

/// Track event names with their relative frequency.
static TRACK_EVENTS: &[(&str, TrackKind, u32)] = &[
    ("Product Viewed", TrackKind::ProductViewed, 30),
    ("Product Added", TrackKind::ProductAdded, 13),
    ("Products Searched", TrackKind::ProductsSearched, 11),
    ("Cart Viewed", TrackKind::CartViewed, 10),
    ("Checkout Started", TrackKind::CheckoutStarted, 8),
    ("Order Completed", TrackKind::OrderCompleted, 8),
    ("Coupon Applied", TrackKind::CouponApplied, 3),
    ("Signed Up", TrackKind::SignedUp, 4),
    ("Signed In", TrackKind::SignedIn, 9),
    ("Newsletter Subscribed", TrackKind::NewsletterSubscribed, 4),
];

// ---------------------------------------------------------------------------------------
// Output shapes (serialized with serde, borrowing everything)
// ---------------------------------------------------------------------------------------

/// Epoch milliseconds, serialized as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
#[derive(Clone, Copy)]
struct Stamp(i64);

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 24];
        serializer.serialize_str(format_iso_millis(self.0, &mut buf))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Message<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<Properties<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    traits: Option<Traits<'a>>,
    message_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    anonymous_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    context: Context<'a>,
    integrations: Integrations,
    original_timestamp: Stamp,
    sent_at: Stamp,
    received_at: Stamp,
    timestamp: Stamp,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Context<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    library: Library,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<PageContext<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    campaign: Option<CampaignContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<App>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<Device<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    os: Option<Os>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<Network>,
    #[serde(skip_serializing_if = "Option::is_none")]
    screen: Option<Screen>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timezone: Option<&'a str>,
}

impl<'a> Context<'a> {
    /// A context with only `library` set.
    fn new(library: Library) -> Self {
        Context {
            ip: None,
            locale: None,
            user_agent: None,
            library,
            page: None,
            campaign: None,
            app: None,
            device: None,
            os: None,
            network: None,
            screen: None,
            timezone: None,
        }
    }
}

#[derive(Serialize)]
struct Library {
    name: &'static str,
    version: &'static str,
}

/// `context.page`, and the body of page `properties`.
#[derive(Serialize, Default)]
struct PageView {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'static str>,
    path: String,
    referrer: String,
    search: String,
    title: String,
    url: String,
}

/// `context.page`: like the page properties, without `name`.
#[derive(Serialize)]
struct PageContext<'a> {
    path: &'a str,
    referrer: &'a str,
    search: &'a str,
    title: &'a str,
    url: &'a str,
}

impl<'a> From<&'a PageView> for PageContext<'a> {
    fn from(p: &'a PageView) -> Self {
        PageContext {
            path: &p.path,
            referrer: &p.referrer,
            search: &p.search,
            title: &p.title,
            url: &p.url,
        }
    }
}

#[derive(Serialize)]
struct CampaignContext {
    name: &'static str,
    source: &'static str,
    medium: &'static str,
}

#[derive(Serialize)]
struct App {
    name: &'static str,
    version: &'static str,
    build: &'static str,
    namespace: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Device<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    manufacturer: &'static str,
    model: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ad_tracking_enabled: Option<bool>,
}

#[derive(Serialize)]
struct Os {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Network {
    wifi: bool,
    cellular: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    carrier: Option<&'static str>,
}

#[derive(Serialize)]
struct Screen {
    width: u16,
    height: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    density: Option<u8>,
}

#[derive(Serialize, Default)]
struct Integrations {
    #[serde(rename = "All", skip_serializing_if = "Option::is_none")]
    all: Option<bool>,
    #[serde(rename = "Mixpanel", skip_serializing_if = "Option::is_none")]
    mixpanel: Option<bool>,
    #[serde(rename = "Actions Amplitude", skip_serializing_if = "Option::is_none")]
    amplitude: Option<AmplitudeSession>,
}

#[derive(Serialize)]
struct AmplitudeSession {
    session_id: i64,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Properties<'a> {
    Page(&'a PageView),
    Track(&'a TrackProps<'a>),
}

#[derive(Serialize, Default)]
struct TrackProps<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    checkout_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cart_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    affiliation: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_id: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sku: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    brand: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quantity: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subtotal: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revenue: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shipping: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    discount: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    coupon: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    products: Option<&'a [LineItem]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_url: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    list_id: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    list_name: Option<&'static str>,
}

#[derive(Serialize)]
struct LineItem {
    product_id: &'static str,
    sku: &'static str,
    category: &'static str,
    name: &'static str,
    price: f64,
    quantity: u32,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Traits<'a> {
    User(UserTraits<'a>),
    Group(GroupTraits<'a>),
}

#[derive(Serialize, Default)]
struct UserTraits<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(rename = "firstName", skip_serializing_if = "Option::is_none")]
    first_name_camel: Option<&'a str>,
    #[serde(rename = "lastName", skip_serializing_if = "Option::is_none")]
    last_name_camel: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    /// `Some(None)` sends an explicit `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<Address<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logins: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_integer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vip: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signup_date: Option<&'a str>,
    #[serde(rename = "createdAt", skip_serializing_if = "Option::is_none")]
    created_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferences: Option<Preferences<'a>>,
}

#[derive(Serialize)]
struct Preferences<'a> {
    newsletter: bool,
    language: &'a str,
    categories: &'a [&'static str],
}

#[derive(Serialize, Default)]
struct GroupTraits<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<&'a str>,
    /// `Some(None)` sends an explicit `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    employees: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    industry: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    website: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<Address<'a>>,
    #[serde(rename = "createdAt", skip_serializing_if = "Option::is_none")]
    created_at: Option<&'a str>,
}

#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct Address<'a> {
    street: &'a str,
    city: &'a str,
    state: &'a str,
    postal_code: &'a str,
    country: &'a str,
}

// ---------------------------------------------------------------------------------------
// The simulated world: users, anonymous visitors, companies
// ---------------------------------------------------------------------------------------

/// What a browser or phone looks like; shared by users and anonymous-only visitors.
struct Profile {
    anonymous_id: String,
    device_id: String,
    agent: &'static Agent,
    screen: (u16, u16),
    ip: String,
    place: &'static Place,
    /// Client clock error, added to client-side timestamps.
    clock_skew_ms: i64,
}

#[derive(Clone, Copy)]
enum NameStyle {
    Camel,
    Snake,
    Full,
}

struct User {
    user_id: String,
    profile: Profile,
    first_name: &'static str,
    last_name: &'static str,
    full_name: String,
    name_style: NameStyle,
    email: String,
    phone: String,
    gender: Option<&'static str>,
    street: String,
    postal_code: String,
    country: &'static str,
    plan: &'static str,
    signup_date: String,
    created_at: String,
    vip: bool,
    custom_integer: String,
    newsletter: bool,
    categories: &'static [&'static str],
    companies: Vec<usize>,
}

struct Company {
    group_id: String,
    name: String,
    email: String,
    phone: String,
    website: String,
    description: &'static str,
    employees: u32,
    industry: &'static str,
    plan: &'static str,
    place: &'static Place,
    street: String,
    postal_code: String,
    created_at: String,
}

/// Where a user is in the anonymous -> identified journey.
#[derive(Clone, Copy)]
enum Phase {
    /// This many more events carry only the anonymousId.
    Anonymous(u8),
    /// The next event is the identify that links anonymousId and userId.
    NeedsIdentify,
    Known,
}

#[derive(Clone, Copy)]
struct UserState {
    phase: Phase,
    identifies: u32,
    logins: u32,
}

struct World {
    users: Vec<User>,
    visitors: Vec<Profile>,
    companies: Vec<Company>,
}

fn id_width(n: u32, min: usize) -> usize {
    n.to_string().len().max(min)
}

fn fill_template(rng: &mut StdRng, template: &str) -> String {
    template
        .chars()
        .map(|c| {
            if c == '#' {
                char::from(b'0' + rng.random_range(0..10u8))
            } else {
                c
            }
        })
        .collect()
}

/// Lower-case ASCII form of a name, for e-mail addresses and domains.
fn ascii_slug(s: &str, sep: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let folded = match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'í' | 'ì' | 'î' | 'ï' => "i",
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => "o",
            'ú' | 'ù' | 'û' | 'ü' => "u",
            'ç' => "c",
            'ñ' | 'ń' => "n",
            'ł' | 'Ł' => "l",
            'ś' | 'Ś' => "s",
            'ż' | 'ź' | 'Ż' => "z",
            'ą' => "a",
            'ę' => "e",
            ' ' | '-' => sep,
            c if c.is_ascii_alphanumeric() => {
                out.push(c.to_ascii_lowercase());
                continue;
            }
            _ => "",
        };
        out.push_str(folded);
    }
    out
}

fn random_ip(rng: &mut StdRng, place: &Place) -> String {
    let first = *place.ip_octets.choose(rng).expect("non-empty pool");
    format!(
        "{first}.{}.{}.{}",
        rng.random_range(0..=255u8),
        rng.random_range(0..=255u8),
        rng.random_range(1..=254u8)
    )
}

fn random_uuid(rng: &mut StdRng, style: UuidStyle) -> String {
    let mut out = String::with_capacity(36);
    push_hex128(&mut out, with_uuid_v4_bits(rng.random()), style);
    out
}

fn random_date_before(rng: &mut StdRng, start_ms: i64, max_days: i64) -> (String, String) {
    let ms = start_ms - rng.random_range(1..=max_days) * DAY_MS - rng.random_range(0..DAY_MS);
    let mut buf = [0u8; 24];
    let iso = format_iso_millis(ms, &mut buf).to_owned();
    (iso[..10].to_owned(), iso)
}

fn new_profile(rng: &mut StdRng) -> Profile {
    let agent = AGENTS.choose_weighted(rng, |a| a.weight).expect("agents");
    let place = PLACES.choose_weighted(rng, |p| p.weight).expect("places");
    let screen = *agent.screens.choose(rng).expect("screens");
    let clock_skew_ms = if rng.random_bool(0.05) {
        rng.random_range(-600_000..600_000)
    } else {
        rng.random_range(-2_500..2_500)
    };
    Profile {
        anonymous_id: random_uuid(rng, UuidStyle::Lower),
        device_id: random_uuid(
            rng,
            if agent.os.0 == "Android" {
                UuidStyle::Plain
            } else {
                UuidStyle::Upper
            },
        ),
        agent,
        screen,
        ip: random_ip(rng, place),
        place,
        clock_skew_ms,
    }
}

fn gender_label(rng: &mut StdRng, sex: Sex) -> Option<&'static str> {
    let roll = rng.random_range(0..100u32);
    Some(match (roll, sex) {
        (0..=9, _) => return None,
        (10..=17, _) => "unknown",
        (18..=19, _) => ["other", "non-binary", "prefer not to say"][rng.random_range(0..3)],
        (20..=69, Sex::Male) => "male",
        (70..=84, Sex::Male) => "m",
        (85..=94, Sex::Male) => "Male",
        (_, Sex::Male) => "M",
        (20..=69, Sex::Female) => "female",
        (70..=84, Sex::Female) => "F",
        (85..=94, Sex::Female) => "Female",
        (_, Sex::Female) => "f",
    })
}

fn street_line(rng: &mut StdRng, place: &Place) -> String {
    let street = place.streets.choose(rng).expect("streets");
    let number = rng.random_range(1..=240u32);
    if place.number_first {
        format!("{number} {street}")
    } else if rng.random_bool(0.3) {
        format!("{street} {number}/{}", rng.random_range(1..=40u32))
    } else {
        format!("{street} {number}")
    }
}

impl World {
    fn new(rng: &mut StdRng, users: u32, companies: u32, start_ms: i64) -> Self {
        let width = id_width(companies, 2);
        let companies: Vec<Company> = (1..=companies)
            .map(|n| {
                let word = COMPANY_WORDS.choose(rng).expect("words");
                let noun = COMPANY_NOUNS.choose(rng).expect("nouns");
                let suffix = COMPANY_SUFFIXES.choose(rng).expect("suffixes");
                let name = if suffix.is_empty() {
                    format!("{word} {noun}")
                } else {
                    format!("{word} {noun} {suffix}")
                };
                let domain = format!("{}-{}.com", ascii_slug(word, "-"), ascii_slug(noun, "-"));
                let place = PLACES.choose_weighted(rng, |p| p.weight).expect("places");
                // Log-uniform head count between 1 and ~20,000.
                let employees = (20_000f64.powf(rng.random::<f64>())).round() as u32;
                Company {
                    group_id: format!("company-{n:0width$}"),
                    email: format!(
                        "{}@{domain}",
                        ["info", "hello", "contact", "billing"][rng.random_range(0..4)]
                    ),
                    phone: fill_template(rng, place.phone),
                    website: format!("https://www.{domain}"),
                    name,
                    description: DESCRIPTIONS.choose(rng).expect("descriptions"),
                    employees: employees.max(1),
                    industry: INDUSTRIES.choose(rng).expect("industries"),
                    plan: GROUP_PLANS.choose(rng).expect("plans"),
                    street: street_line(rng, place),
                    postal_code: fill_template(rng, place.postal),
                    place,
                    created_at: random_date_before(rng, start_ms, 3_000).1,
                }
            })
            .collect();

        let width = id_width(users, 4);
        let n_companies = companies.len();
        let users = (1..=users)
            .map(|n| {
                let profile = new_profile(rng);
                let &(first_name, sex) = FIRST_NAMES.choose(rng).expect("first names");
                let last_name = *LAST_NAMES.choose(rng).expect("last names");
                let first = ascii_slug(first_name, "");
                let last = ascii_slug(last_name, "");
                let domain = EMAIL_DOMAINS.choose(rng).expect("domains");
                let mut email = match rng.random_range(0..10u32) {
                    0..=4 => format!("{first}.{last}@{domain}"),
                    5 => format!("{}{last}@{domain}", &first[..1]),
                    6 => format!("{first}_{last}{}@{domain}", rng.random_range(1..100u32)),
                    7 => format!("{first}.{last}+shop@{domain}"),
                    8 => format!("{first}{}@{domain}", rng.random_range(1970..2008u32)),
                    _ => format!("{last}.{first}@{domain}"),
                };
                if rng.random_bool(0.03) {
                    // Some people type their address with capitals.
                    email = format!("{}{}", email[..1].to_ascii_uppercase(), &email[1..]);
                }
                let name_style = match rng.random_range(0..100u32) {
                    0..=44 => NameStyle::Camel,
                    45..=74 => NameStyle::Snake,
                    _ => NameStyle::Full,
                };
                let (signup_date, created_at) = random_date_before(rng, start_ms, 900);
                let mut companies = vec![skewed_index(rng, n_companies)];
                if rng.random_bool(0.1) {
                    companies.push(rng.random_range(0..n_companies));
                }
                let n_categories = rng.random_range(0..=3);
                let first_category = rng.random_range(0..CATEGORIES.len() - n_categories);
                User {
                    user_id: format!("user-{n:0width$}"),
                    first_name,
                    last_name,
                    full_name: format!("{first_name} {last_name}"),
                    name_style,
                    email,
                    phone: fill_template(rng, profile.place.phone),
                    gender: gender_label(rng, sex),
                    street: street_line(rng, profile.place),
                    postal_code: fill_template(rng, profile.place.postal),
                    country: if rng.random_bool(0.7) {
                        profile.place.country_code
                    } else {
                        profile.place.country_name
                    },
                    plan: PLANS.choose(rng).expect("plans"),
                    signup_date,
                    created_at,
                    vip: rng.random_bool(0.08),
                    custom_integer: rng.random_range(0..5_000u32).to_string(),
                    newsletter: rng.random_bool(0.4),
                    categories: &CATEGORIES[first_category..first_category + n_categories],
                    companies,
                    profile,
                }
            })
            .collect::<Vec<_>>();

        let visitors = (0..(users.len() / 5).max(1))
            .map(|_| new_profile(rng))
            .collect();
        World {
            users,
            visitors,
            companies,
        }
    }
}

/// Index in `0..n`, favouring low indices (a few very active users, a long tail).
fn skewed_index(rng: &mut StdRng, n: usize) -> usize {
    let r: f64 = rng.random();
    ((r * r * n as f64) as usize).min(n - 1)
}

// ---------------------------------------------------------------------------------------
// Time and ids
// ---------------------------------------------------------------------------------------

const DAY_MS: i64 = 86_400_000;

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (years 0..=9999).
fn format_iso_millis(ms: i64, buf: &mut [u8; 24]) -> &str {
    let days = ms.div_euclid(DAY_MS);
    let ms_of_day = ms.rem_euclid(DAY_MS);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = (yoe + era * 400 + i64::from(month <= 2)).clamp(0, 9999);

    let put = |buf: &mut [u8; 24], at: usize, value: i64, width: usize| {
        let mut v = value;
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(buf, 0, year, 4);
    buf[4] = b'-';
    put(buf, 5, month, 2);
    buf[7] = b'-';
    put(buf, 8, day, 2);
    buf[10] = b'T';
    put(buf, 11, ms_of_day / 3_600_000, 2);
    buf[13] = b':';
    put(buf, 14, ms_of_day / 60_000 % 60, 2);
    buf[16] = b':';
    put(buf, 17, ms_of_day / 1_000 % 60, 2);
    buf[19] = b'.';
    put(buf, 20, ms_of_day % 1_000, 3);
    buf[23] = b'Z';
    std::str::from_utf8(buf).expect("ASCII")
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A bijection on 48-bit integers, keyed by the seed.
fn permute48(i: u64, seed: u64) -> u64 {
    const MASK: u64 = (1 << 48) - 1;
    let mut x = (i ^ splitmix64(seed)) & MASK;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) & MASK;
    x ^= x >> 24;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9) & MASK;
    x ^ (x >> 23)
}

fn with_uuid_v4_bits(v: u128) -> u128 {
    (v & !(0xF << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62)
}

/// A v4-style UUID for line `i`: the last 12 hex digits are a bijection of `i`, so ids
/// never repeat within a run (for fewer than 2^48 lines).
fn message_uuid(seed: u64, i: u64) -> u128 {
    let hi = splitmix64(seed ^ splitmix64(i));
    let mid = splitmix64(hi) & 0xFFFF;
    with_uuid_v4_bits(u128::from(hi) << 64 | u128::from(mid) << 48 | u128::from(permute48(i, seed)))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum UuidStyle {
    /// `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`
    Lower,
    /// The same in upper case (Apple's `UUID().uuidString`).
    Upper,
    /// 32 lower-case hex digits, no dashes.
    Plain,
}

fn push_hex128(out: &mut String, v: u128, style: UuidStyle) {
    let digits: &[u8; 16] = if style == UuidStyle::Upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    for nibble in 0..32 {
        if style != UuidStyle::Plain && matches!(nibble, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        let shift = 124 - 4 * nibble;
        out.push(char::from(digits[((v >> shift) & 0xF) as usize]));
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

// ---------------------------------------------------------------------------------------
// Event generation
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Identify,
    Track,
    Page,
    Group,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Channel {
    /// analytics.js in a browser.
    Web,
    /// A mobile app (analytics-swift / analytics-kotlin).
    App,
    /// A backend (analytics-node).
    Server,
}

#[derive(Clone, Copy)]
enum Who {
    User(usize),
    Visitor(usize),
}

/// Everything decided about one event before it is rendered.
struct Pick {
    kind: Kind,
    track: (&'static str, TrackKind),
    who: Who,
    channel: Channel,
    send_user_id: bool,
    send_anonymous_id: bool,
    full_traits: bool,
    logins: u32,
}

/// Per-event owned strings, reused from one event to the next.
#[derive(Default)]
struct Scratch {
    message_id: String,
    /// The product an event is about (page shown, product viewed or added).
    product: Option<&'static Product>,
    page: PageView,
    cart_id: String,
    order_id: String,
    checkout_id: String,
    image_url: String,
    items: Vec<LineItem>,
}

struct Generator {
    rng: StdRng,
    seed: u64,
    world: World,
    states: Vec<UserState>,
    start_ms: i64,
    slot_ms: f64,
    scratch: Scratch,
    track_weights: WeightedIndex<u32>,
}

impl Generator {
    fn new(args: &Args) -> Self {
        let mut rng = StdRng::seed_from_u64(args.seed);
        let start_ms = args
            .start
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis();
        let world = World::new(&mut rng, args.users, args.companies, start_ms);
        let states = (0..world.users.len())
            .map(|_| UserState {
                phase: if rng.random_bool(0.35) {
                    Phase::Anonymous(rng.random_range(1..=4))
                } else {
                    Phase::Known
                },
                identifies: 0,
                logins: rng.random_range(0..20),
            })
            .collect();
        let span_ms = f64::from(args.days) * DAY_MS as f64;
        Generator {
            rng,
            seed: args.seed,
            world,
            states,
            start_ms,
            slot_ms: span_ms / args.events.max(1) as f64,
            scratch: Scratch::default(),
            track_weights: WeightedIndex::new(TRACK_EVENTS.iter().map(|e| e.2))
                .expect("track event weights"),
        }
    }

    /// Decides type, sender and ids of the next event, advancing the user's journey.
    fn pick(&mut self) -> Pick {
        let rng = &mut self.rng;
        let roll = rng.random_range(0..100u32);
        let mut kind = match roll {
            // Anonymous users' first identify is added on top of these 9%: ~10% in all.
            0..=8 => Kind::Identify,
            9..=54 => Kind::Track,
            55..=94 => Kind::Page,
            _ => Kind::Group,
        };
        let (event, track_kind, _) = TRACK_EVENTS[self.track_weights.sample(rng)];
        let mut pick = Pick {
            kind,
            track: (event, track_kind),
            who: Who::Visitor(0),
            channel: Channel::Web,
            send_user_id: false,
            send_anonymous_id: true,
            full_traits: false,
            logins: 0,
        };

        if kind == Kind::Page && rng.random_bool(0.08) {
            pick.who = Who::Visitor(rng.random_range(0..self.world.visitors.len()));
            return pick;
        }

        let index = skewed_index(rng, self.world.users.len());
        pick.who = Who::User(index);
        let state = &mut self.states[index];
        let mobile = self.world.users[index].profile.agent.form != Form::Desktop;
        match state.phase {
            Phase::Anonymous(left) if matches!(kind, Kind::Page | Kind::Track) => {
                state.phase = if left > 1 {
                    Phase::Anonymous(left - 1)
                } else {
                    Phase::NeedsIdentify
                };
                return pick;
            }
            Phase::Anonymous(_) | Phase::NeedsIdentify => {
                // The identify that ties the anonymous history to the userId.
                kind = Kind::Identify;
                pick.kind = kind;
                state.phase = Phase::Known;
                pick.send_user_id = true;
            }
            Phase::Known => {
                pick.send_user_id = true;
                pick.channel = match kind {
                    Kind::Page => Channel::Web,
                    _ if mobile && rng.random_bool(0.4) => Channel::App,
                    Kind::Track if track_kind == TrackKind::OrderCompleted => {
                        if rng.random_bool(0.35) {
                            Channel::Server
                        } else {
                            Channel::Web
                        }
                    }
                    Kind::Identify if rng.random_bool(0.15) => Channel::Server,
                    Kind::Group if rng.random_bool(0.3) => Channel::Server,
                    _ => Channel::Web,
                };
                pick.send_anonymous_id = pick.channel != Channel::Server;
            }
        }
        if kind == Kind::Identify {
            pick.full_traits = state.identifies == 0 || rng.random_bool(0.4);
            state.identifies += 1;
            if rng.random_bool(0.5) {
                state.logins += 1;
            }
        }
        pick.logins = state.logins;
        pick
    }

    /// Fills `scratch.page` with the page an event happens on.
    fn fill_page(&mut self, pick: &Pick) -> Option<&'static Campaign> {
        let rng = &mut self.rng;
        let page = &mut self.scratch.page;
        let product = self.scratch.product.expect("product picked");
        let spec = match pick.kind {
            Kind::Track => match pick.track.1 {
                TrackKind::ProductViewed | TrackKind::ProductAdded => shop_product(product),
                TrackKind::ProductsSearched => shop_search(rng),
                TrackKind::CartViewed => shop_page("Cart", "/cart", "Cart | Example Shop"),
                TrackKind::CheckoutStarted | TrackKind::CouponApplied => {
                    shop_page("Checkout", "/checkout", "Checkout | Example Shop")
                }
                TrackKind::OrderCompleted => shop_page(
                    "Order Confirmation",
                    "/checkout/thank-you",
                    "Thank you for your order! | Example Shop",
                ),
                TrackKind::SignedUp => www_page("Sign Up", "/signup", "Sign up – Example"),
                TrackKind::SignedIn => www_page("Log In", "/login", "Log in – Example"),
                TrackKind::NewsletterSubscribed => random_page(rng, product),
            },
            _ => random_page(rng, product),
        };
        let campaign = if spec.search.is_empty() && rng.random_bool(0.1) {
            CAMPAIGNS.choose(rng)
        } else {
            None
        };
        // analytics.page() is often called without a name.
        page.name = (pick.kind != Kind::Page || rng.random_bool(0.7)).then_some(spec.name);
        page.path = spec.path;
        page.title = spec.title;
        page.search = match campaign {
            Some(c) => c.search.to_owned(),
            None => spec.search,
        };
        page.url.clear();
        page.url.push_str(spec.host);
        page.url.push_str(&page.path);
        page.url.push_str(&page.search);
        page.referrer.clear();
        match rng.random_range(0..100u32) {
            0..=24 => {
                // Internal navigation: the previous page on one of the two sites.
                let previous = random_page(rng, product);
                page.referrer.push_str(previous.host);
                page.referrer.push_str(&previous.path);
            }
            25..=59 => {}
            _ => page
                .referrer
                .push_str(EXTERNAL_REFERRERS.choose(rng).expect("referrers")),
        }
        campaign
    }

    fn fill_track_items(&mut self, count: usize) {
        self.scratch.items.clear();
        for _ in 0..count {
            let p = PRODUCTS.choose(&mut self.rng).expect("products");
            self.scratch.items.push(LineItem {
                product_id: p.id,
                sku: p.sku,
                category: p.category,
                name: p.name,
                price: p.price,
                quantity: if self.rng.random_bool(0.8) {
                    1
                } else {
                    self.rng.random_range(2..=4)
                },
            });
        }
    }

    /// Renders line `i` into `out` (without the newline), as a valid event or, when
    /// `bad` is given, as that kind of bad line.
    /// Client and server clocks for line `i`: receivedAt advances through the range; the
    /// client clock is skewed and some events wait in an offline queue, so `timestamp`
    /// is mostly, not strictly, increasing.
    fn times(&mut self, i: u64, pick: &Pick) -> Times {
        let rng = &mut self.rng;
        let received = self.start_ms
            + (i as f64 * self.slot_ms) as i64
            + rng.random_range(0..(self.slot_ms as i64).max(1));
        let client = pick.channel != Channel::Server;
        let skew = match pick.who {
            _ if !client => 0,
            Who::User(u) => self.world.users[u].profile.clock_skew_ms,
            Who::Visitor(v) => self.world.visitors[v].clock_skew_ms,
        };
        let latency = rng.random_range(20..400);
        let queued = if client && rng.random_bool(0.015) {
            rng.random_range(60_000..36 * 3_600_000)
        } else {
            rng.random_range(0..1_500)
        };
        let sent_at = received - latency + skew;
        let original = sent_at - queued;
        Times {
            original,
            sent_at,
            received,
            // What Segment computes: receivedAt - (sentAt - originalTimestamp).
            timestamp: received - (sent_at - original),
        }
    }

    /// Fills the per-event strings: messageId, page, product, cart and order ids.
    fn fill_scratch(&mut self, i: u64, pick: &Pick) -> Option<&'static Campaign> {
        // messageId in the style of the sending library.
        let uuid = message_uuid(self.seed, i);
        let id = &mut self.scratch.message_id;
        id.clear();
        match pick.channel {
            Channel::Web => {
                id.push_str("ajs-next-");
                push_hex128(id, uuid, UuidStyle::Plain);
            }
            Channel::App => push_hex128(id, uuid, UuidStyle::Upper),
            Channel::Server => push_hex128(id, uuid, UuidStyle::Lower),
        }

        let product = PRODUCTS.choose(&mut self.rng).expect("products");
        self.scratch.product = Some(product);
        let campaign = if pick.channel == Channel::Web {
            self.fill_page(pick)
        } else {
            None
        };
        if pick.kind != Kind::Track {
            return campaign;
        }

        let item_count = match pick.track.1 {
            TrackKind::CartViewed | TrackKind::CheckoutStarted | TrackKind::OrderCompleted => {
                self.rng.random_range(1..=3)
            }
            _ => 0,
        };
        self.fill_track_items(item_count);
        let s = &mut self.scratch;
        s.image_url.clear();
        s.image_url
            .push_str("https://cdn.example.com/images/products/");
        s.image_url.push_str(product.slug);
        s.image_url.push_str(".jpg");
        s.cart_id.clear();
        push_hex128(&mut s.cart_id, self.rng.random(), UuidStyle::Plain);
        s.cart_id.truncate(24);
        s.order_id.clear();
        let _ = write!(s.order_id, "ORD-{}", 100_000 + i);
        s.checkout_id.clear();
        let _ = write!(s.checkout_id, "chk_{}", &s.cart_id[..16]);
        campaign
    }

    /// Renders line `i` into `out` (without the newline), as a valid event or, when
    /// `bad` is given, as that kind of bad line.
    fn write_line(&mut self, i: u64, bad: Option<(Bad, &mut StdRng)>, out: &mut Vec<u8>) {
        let pick = self.pick();
        let times = self.times(i, &pick);
        let campaign = self.fill_scratch(i, &pick);

        let rng = &mut self.rng;
        let world = &self.world;
        let scratch = &self.scratch;
        let (user, profile) = match pick.who {
            Who::User(u) => (Some(&world.users[u]), &world.users[u].profile),
            Who::Visitor(v) => (None, &world.visitors[v]),
        };

        let mut msg = Message {
            kind: Some(match pick.kind {
                Kind::Identify => "identify",
                Kind::Track => "track",
                Kind::Page => "page",
                Kind::Group => "group",
            }),
            event: None,
            name: None,
            group_id: None,
            properties: None,
            traits: None,
            message_id: &scratch.message_id,
            anonymous_id: pick
                .send_anonymous_id
                .then_some(profile.anonymous_id.as_str()),
            user_id: user
                .filter(|_| pick.send_user_id)
                .map(|u| u.user_id.as_str()),
            context: context(rng, pick.channel, profile, scratch, campaign),
            integrations: integrations(rng, times.original),
            original_timestamp: Stamp(times.original),
            sent_at: Stamp(times.sent_at),
            received_at: Stamp(times.received),
            timestamp: Stamp(times.timestamp),
        };

        let track_props;
        match pick.kind {
            Kind::Page => {
                msg.name = scratch.page.name;
                msg.properties = Some(Properties::Page(&scratch.page));
            }
            Kind::Track => {
                msg.event = Some(pick.track.0);
                track_props = track_properties(rng, &pick, user, scratch);
                msg.properties = Some(Properties::Track(&track_props));
            }
            Kind::Identify => {
                let user = user.expect("identify comes from a user");
                msg.traits = Some(Traits::User(user_traits(rng, &pick, user)));
            }
            Kind::Group => {
                let user = user.expect("group comes from a user");
                let company = &world.companies[*user.companies.choose(rng).expect("company")];
                msg.group_id = Some(&company.group_id);
                msg.traits = Some(Traits::Group(group_traits(rng, company)));
            }
        }

        out.clear();
        match bad {
            None => serde_json::to_writer(&mut *out, &msg).expect("serialize"),
            Some((bad, bad_rng)) => bad.render(&mut msg, bad_rng, out),
        }
    }
}

struct Times {
    original: i64,
    sent_at: i64,
    received: i64,
    timestamp: i64,
}

fn context<'a>(
    rng: &mut StdRng,
    channel: Channel,
    profile: &'a Profile,
    scratch: &'a Scratch,
    campaign: Option<&'static Campaign>,
) -> Context<'a> {
    let agent = profile.agent;
    let (width, height) = profile.screen;
    match channel {
        Channel::Web => Context {
            ip: Some(&profile.ip),
            locale: Some(profile.place.locale),
            user_agent: Some(agent.ua),
            page: Some(PageContext::from(&scratch.page)),
            campaign: campaign.map(|c| CampaignContext {
                name: c.name,
                source: c.source,
                medium: c.medium,
            }),
            screen: Some(Screen {
                width,
                height,
                density: None,
            }),
            timezone: Some(profile.place.timezone),
            // The shop bundles analytics.js from npm; the marketing site uses the snippet.
            ..Context::new(Library {
                name: "analytics.js",
                version: if scratch.page.url.starts_with("https://shop.") {
                    "npm:next-1.72.0"
                } else {
                    "next-1.72.0"
                },
            })
        },
        Channel::App => {
            let ios = matches!(agent.os.0, "iOS" | "iPadOS");
            let (manufacturer, model) = agent.device.unwrap_or(("Apple", "iPhone16,2"));
            let library = if ios {
                Library {
                    name: "analytics-swift",
                    version: "1.7.3",
                }
            } else {
                Library {
                    name: "analytics-kotlin",
                    version: "1.19.2",
                }
            };
            Context {
                ip: Some(&profile.ip),
                locale: Some(profile.place.locale),
                // analytics-kotlin reports the WebView user agent; analytics-swift none.
                user_agent: (!ios).then_some(agent.ua),
                app: Some(App {
                    name: "Example Shop",
                    version: "4.12.0",
                    build: "41200",
                    namespace: "com.example.shop",
                }),
                device: Some(Device {
                    id: Some(&profile.device_id),
                    manufacturer,
                    model,
                    kind: if ios { "ios" } else { "android" },
                    ad_tracking_enabled: Some(rng.random_bool(0.3)),
                }),
                os: Some(Os {
                    name: agent.os.0,
                    version: agent.os.1,
                }),
                network: Some(if rng.random_bool(0.6) {
                    Network {
                        wifi: true,
                        cellular: false,
                        carrier: None,
                    }
                } else {
                    Network {
                        wifi: false,
                        cellular: true,
                        carrier: Some("T-Mobile"),
                    }
                }),
                screen: Some(Screen {
                    width,
                    height,
                    density: Some(if ios { 3 } else { 2 }),
                }),
                timezone: Some(profile.place.timezone),
                ..Context::new(library)
            }
        }
        Channel::Server => Context::new(Library {
            name: "@segment/analytics-node",
            version: "2.2.1",
        }),
    }
}

fn integrations(rng: &mut StdRng, original_ms: i64) -> Integrations {
    let mut integrations = Integrations::default();
    match rng.random_range(0..100u32) {
        0..=44 => {}
        45..=79 => integrations.all = Some(true),
        80..=91 => {
            integrations.all = Some(true);
            integrations.mixpanel = Some(false);
        }
        _ => {
            integrations.amplitude = Some(AmplitudeSession {
                session_id: original_ms - 600_000,
            });
        }
    }
    integrations
}

const SHOP: &str = "https://shop.example.com";
const WWW: &str = "https://www.example.com";

/// A page on one of the two sites, before campaign parameters are added.
struct PageSpec {
    host: &'static str,
    name: &'static str,
    path: String,
    title: String,
    search: String,
}

fn page_spec(host: &'static str, name: &'static str, path: String, title: String) -> PageSpec {
    PageSpec {
        host,
        name,
        path,
        title,
        search: String::new(),
    }
}

fn shop_page(name: &'static str, path: &str, title: &str) -> PageSpec {
    page_spec(SHOP, name, path.to_owned(), title.to_owned())
}

fn www_page(name: &'static str, path: &str, title: &str) -> PageSpec {
    page_spec(WWW, name, path.to_owned(), title.to_owned())
}

fn shop_product(p: &Product) -> PageSpec {
    page_spec(
        SHOP,
        "Product",
        format!("/products/{}", p.slug),
        format!("{} | Example Shop", p.name),
    )
}

fn shop_search(rng: &mut StdRng) -> PageSpec {
    let q = SEARCH_QUERIES.choose(rng).expect("queries");
    PageSpec {
        search: format!("?q={}", q.replace(' ', "+")),
        ..page_spec(
            SHOP,
            "Search",
            "/search".to_owned(),
            format!("Search results for “{q}” | Example Shop"),
        )
    }
}

fn random_page(rng: &mut StdRng, product: &Product) -> PageSpec {
    match rng.random_range(0..100u32) {
        0..=11 => shop_page("Home", "/", "Example Shop – Outdoor Gear & Apparel"),
        12..=41 => shop_product(product),
        42..=53 => {
            let category = CATEGORIES.choose(rng).expect("categories");
            let title = format!(
                "{}{} | Example Shop",
                category[..1].to_uppercase(),
                &category[1..]
            );
            page_spec(SHOP, "Category", format!("/category/{category}"), title)
        }
        54..=58 => shop_search(rng),
        59..=63 => shop_page("Cart", "/cart", "Cart | Example Shop"),
        64..=66 => shop_page("Account", "/account/orders", "My orders | Example Shop"),
        67..=74 => www_page("Home", "/", "Example – Customer data for modern teams"),
        75..=80 => www_page("Pricing", "/pricing", "Pricing – Example"),
        81..=88 => {
            let (slug, title) = BLOG_POSTS.choose(rng).expect("posts");
            page_spec(
                WWW,
                "Blog Post",
                format!("/blog/{slug}"),
                format!("{title} – Example Blog"),
            )
        }
        89..=94 => {
            let (slug, title) = DOCS_PAGES.choose(rng).expect("docs");
            page_spec(
                WWW,
                "Docs",
                format!("/docs/{slug}"),
                format!("{title} – Example Docs"),
            )
        }
        95..=97 => www_page("About", "/about", "About us – Example"),
        _ => www_page("Contact", "/contact", "Contact – Example"),
    }
}

fn track_properties<'a>(
    rng: &mut StdRng,
    pick: &Pick,
    user: Option<&'a User>,
    s: &'a Scratch,
) -> TrackProps<'a> {
    let mut p = TrackProps::default();
    let product = s.product.expect("product picked");
    let items_total: f64 = s
        .items
        .iter()
        .map(|i| i.price * f64::from(i.quantity))
        .sum();
    match pick.track.1 {
        TrackKind::ProductViewed | TrackKind::ProductAdded => {
            p.product_id = Some(product.id);
            p.sku = Some(product.sku);
            p.category = Some(product.category);
            p.name = Some(product.name);
            p.brand = Some(product.brand);
            p.variant = Some(product.variant);
            p.price = Some(product.price);
            p.currency = Some("USD");
            if pick.track.1 == TrackKind::ProductAdded {
                p.cart_id = Some(&s.cart_id);
                p.quantity = Some(rng.random_range(1..=2));
            } else {
                if pick.channel == Channel::Web {
                    p.url = Some(&s.page.url);
                } else {
                    p.image_url = Some(&s.image_url);
                }
            }
        }
        TrackKind::ProductsSearched => {
            p.query = Some(SEARCH_QUERIES.choose(rng).expect("queries"));
        }
        TrackKind::CartViewed => {
            p.cart_id = Some(&s.cart_id);
            p.products = Some(&s.items);
        }
        TrackKind::CheckoutStarted | TrackKind::OrderCompleted => {
            let discount = if rng.random_bool(0.2) {
                round2(items_total * 0.1)
            } else {
                0.0
            };
            let shipping = if items_total > 100.0 { 0.0 } else { 7.95 };
            let tax = round2((items_total - discount) * 0.08);
            let revenue = round2(items_total - discount);
            p.order_id = Some(&s.order_id);
            p.affiliation = Some("Example Shop");
            p.revenue = Some(revenue);
            p.shipping = Some(shipping);
            p.tax = Some(tax);
            p.discount = Some(discount);
            if discount > 0.0 {
                p.coupon = Some("AUTUMN10");
            }
            p.currency = Some(if rng.random_bool(0.85) { "USD" } else { "EUR" });
            p.products = Some(&s.items);
            if pick.track.1 == TrackKind::OrderCompleted {
                p.checkout_id = Some(&s.checkout_id);
                p.subtotal = Some(round2(items_total));
                p.total = Some(round2(revenue + shipping + tax));
            } else {
                p.value = Some(revenue);
            }
        }
        TrackKind::CouponApplied => {
            p.order_id = Some(&s.order_id);
            p.cart_id = Some(&s.cart_id);
            p.coupon = Some("AUTUMN10");
            p.discount = Some(round2(product.price * 0.1));
        }
        TrackKind::SignedUp => {
            p.kind = Some("organic");
            p.method = Some(["email", "google", "apple"][rng.random_range(0..3)]);
            p.plan = user.map(|u| u.plan);
        }
        TrackKind::SignedIn => {
            p.method = Some(["email", "google", "apple"][rng.random_range(0..3)]);
        }
        TrackKind::NewsletterSubscribed => {
            p.list_id = Some("nl_weekly");
            p.list_name = Some("Weekly deals");
            p.kind = Some("footer_form");
        }
    }
    p
}

fn user_traits<'a>(rng: &mut StdRng, pick: &Pick, u: &'a User) -> UserTraits<'a> {
    let mut t = UserTraits {
        email: Some(&u.email),
        plan: Some(u.plan),
        logins: Some(pick.logins),
        ..UserTraits::default()
    };
    let with_names = pick.full_traits || rng.random_bool(0.5);
    if with_names {
        match u.name_style {
            NameStyle::Camel => {
                t.first_name_camel = Some(u.first_name);
                t.last_name_camel = Some(u.last_name);
            }
            NameStyle::Snake => {
                t.first_name = Some(u.first_name);
                t.last_name = Some(u.last_name);
            }
            NameStyle::Full => t.name = Some(&u.full_name),
        }
    }
    if pick.full_traits {
        t.phone = Some((!rng.random_bool(0.02)).then_some(u.phone.as_str()));
        t.gender = u.gender;
        t.address = Some(Address {
            street: &u.street,
            city: u.profile.place.city,
            state: u.profile.place.state,
            postal_code: &u.postal_code,
            country: u.country,
        });
        t.custom_integer = Some(&u.custom_integer);
        t.vip = Some(u.vip);
        t.signup_date = Some(&u.signup_date);
        t.created_at = Some(&u.created_at);
        t.preferences = Some(Preferences {
            newsletter: u.newsletter,
            language: &u.profile.place.locale[..2],
            categories: u.categories,
        });
    } else if rng.random_bool(0.3) {
        t.vip = Some(u.vip);
    }
    t
}

fn group_traits<'a>(rng: &mut StdRng, c: &'a Company) -> GroupTraits<'a> {
    let mut t = GroupTraits {
        name: Some(&c.name),
        plan: Some(c.plan),
        employees: Some(c.employees),
        ..GroupTraits::default()
    };
    if rng.random_bool(0.7) {
        t.email = Some(&c.email);
        t.phone = Some(&c.phone);
        t.description = Some((!rng.random_bool(0.03)).then_some(c.description));
        t.industry = Some(c.industry);
        t.website = Some(&c.website);
        t.address = Some(Address {
            street: &c.street,
            city: c.place.city,
            state: c.place.state,
            postal_code: &c.postal_code,
            country: c.place.country_code,
        });
        t.created_at = Some(&c.created_at);
    }
    t
}

// ---------------------------------------------------------------------------------------
// Malformed lines
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Bad {
    NotJson,
    Truncated,
    NumberArray,
    NoType,
    UnknownType,
    TrackWithoutEvent,
    NoIds,
    GroupWithoutGroupId,
}

const BAD_KINDS: [Bad; 8] = [
    Bad::NotJson,
    Bad::Truncated,
    Bad::NumberArray,
    Bad::NoType,
    Bad::UnknownType,
    Bad::TrackWithoutEvent,
    Bad::NoIds,
    Bad::GroupWithoutGroupId,
];

static NOT_JSON: &[&str] = &[
    "this is not json",
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>",
    "{type: 'track', userId: 'user-0001', event: 'Order Completed'}",
    "{\"type\":\"track\",\"userId\":\"user-0001\",\"event\":\"Cart Viewed\",}",
    "identify user-0001 email=jane@example.com",
    "undefined",
    "{\"type\":\"page\",\"userId\":\"user-0002\"}}",
];

impl Bad {
    fn render(self, msg: &mut Message<'_>, rng: &mut StdRng, out: &mut Vec<u8>) {
        match self {
            Bad::NotJson => out.extend_from_slice(NOT_JSON.choose(rng).expect("pool").as_bytes()),
            Bad::NumberArray => {
                let numbers: Vec<u32> = (0..rng.random_range(1..8))
                    .map(|_| rng.random_range(0..1000))
                    .collect();
                serde_json::to_writer(&mut *out, &numbers).expect("serialize");
            }
            Bad::Truncated => {
                serde_json::to_writer(&mut *out, msg).expect("serialize");
                let mut cut = rng.random_range(1..out.len() - 1);
                // Stay valid UTF-8: never cut inside a multi-byte character.
                while out[cut] & 0xC0 == 0x80 {
                    cut -= 1;
                }
                out.truncate(cut);
            }
            Bad::NoType => {
                msg.kind = None;
                serde_json::to_writer(&mut *out, msg).expect("serialize");
            }
            Bad::UnknownType => {
                msg.kind = Some(["launch", "purchase", "event", "login"][rng.random_range(0..4)]);
                serde_json::to_writer(&mut *out, msg).expect("serialize");
            }
            Bad::TrackWithoutEvent => {
                msg.kind = Some("track");
                msg.event = None;
                msg.name = None;
                msg.group_id = None;
                msg.traits = None;
                serde_json::to_writer(&mut *out, msg).expect("serialize");
            }
            Bad::NoIds => {
                msg.user_id = None;
                msg.anonymous_id = None;
                serde_json::to_writer(&mut *out, msg).expect("serialize");
            }
            Bad::GroupWithoutGroupId => {
                msg.kind = Some("group");
                msg.event = None;
                msg.name = None;
                msg.group_id = None;
                msg.properties = None;
                serde_json::to_writer(&mut *out, msg).expect("serialize");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();

    let sink: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    let mut writer = BufWriter::with_capacity(1 << 20, sink);

    let mut generator = Generator::new(&args);
    // Bad lines draw from their own generator, so the good lines are the same whatever
    // the rate.
    let mut bad_rng = StdRng::seed_from_u64(splitmix64(args.seed ^ 0xBAD));
    let mut line = Vec::with_capacity(4096);
    let mut bytes = 0u64;
    let mut malformed = 0u64;
    for i in 0..args.events {
        let bad = (args.malformed > 0.0 && bad_rng.random_bool(args.malformed))
            .then(|| *BAD_KINDS.choose(&mut bad_rng).expect("kinds"));
        malformed += u64::from(bad.is_some());
        generator.write_line(i, bad.map(|b| (b, &mut bad_rng)), &mut line);
        line.push(b'\n');
        bytes += line.len() as u64;
        if let Err(e) = writer.write_all(&line) {
            return broken_pipe_ok(e);
        }
    }
    if let Err(e) = writer.flush() {
        return broken_pipe_ok(e);
    }

    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "gen_events: {} lines ({} malformed), {:.1} MB, {:.0} bytes/line avg, {:.2} s",
        args.events,
        malformed,
        bytes as f64 / 1e6,
        bytes as f64 / args.events.max(1) as f64,
        secs
    );
    Ok(())
}

/// `gen_events ... | head` is fine: stop quietly when the reader goes away.
fn broken_pipe_ok(e: io::Error) -> Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e).context("cannot write events")
    }
}
