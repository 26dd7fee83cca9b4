//! The `event` body: a matchmaking event (对接活动) that entries register for.

use serde::{Deserialize, Serialize};

use super::common::{Checker, Classification, LangMap, Scope};
use crate::time::Date;

pub const MAX_EVENT_DAYS: i64 = 60;
pub const MAX_THEMES: usize = 32;
pub const MAX_PARTICIPANTS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventMode {
    Onsite,
    Online,
    Hybrid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organiser {
    pub name: LangMap,
    pub country: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Venue {
    pub city: String,
    pub country: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub local_id: String,
    pub title: LangMap,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub description: LangMap,
    pub starts_on: String,
    pub ends_on: String,
    pub organiser: Organiser,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub themes: Vec<Classification>,
    pub mode: EventMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<Venue>,
    /// Publisher keys (hex) of the participating member exchanges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

impl Event {
    pub fn normalise(&mut self) {
        self.themes.iter_mut().for_each(Classification::normalise);
    }

    pub fn check(&self, c: &mut Checker) {
        c.local_id("local_id", &self.local_id);
        c.lang_map("title", &self.title, true, 256);
        c.lang_map("description", &self.description, false, 4000);
        let start = Date::parse(&self.starts_on);
        let end = Date::parse(&self.ends_on);
        c.ensure(start.is_some(), "starts_on", || {
            format!("{:?} is not a date YYYY-MM-DD", self.starts_on)
        });
        c.ensure(end.is_some(), "ends_on", || {
            format!("{:?} is not a date YYYY-MM-DD", self.ends_on)
        });
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                c.fail("ends_on", format!("{e} is before starts_on {s}"));
            } else if e.0 - s.0 > MAX_EVENT_DAYS {
                c.fail(
                    "ends_on",
                    format!("the event lasts more than {MAX_EVENT_DAYS} days"),
                );
            }
        }
        c.lang_map("organiser.name", &self.organiser.name, true, 256);
        c.country("organiser.country", &self.organiser.country);
        c.max_items("themes", &self.themes, MAX_THEMES);
        for (i, t) in self.themes.iter().enumerate() {
            c.classification(&format!("themes[{i}]"), t);
        }
        match (&self.venue, self.mode) {
            (None, EventMode::Onsite | EventMode::Hybrid) => c.fail(
                "venue",
                "an onsite or hybrid event needs a venue {city, country}",
            ),
            (Some(v), _) => {
                c.text("venue.city", &v.city, 128);
                c.country("venue.country", &v.country);
            }
            (None, EventMode::Online) => {}
        }
        c.max_items("participants", &self.participants, MAX_PARTICIPANTS);
        for (i, p) in self.participants.iter().enumerate() {
            let ok = p.len() == 64 && p.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            c.ensure(ok, &format!("participants[{i}]"), || {
                format!("{p:?} is not a publisher key (64 lowercase hex digits)")
            });
        }
    }
}
