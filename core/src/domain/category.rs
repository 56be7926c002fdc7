//! The catalogue of problems the campaigns (人居环境整治) go after. Codes are
//! stable snake_case identifiers that travel over the wire and into the
//! database; names are for display and may be reworded freely.

use serde::Serialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Category {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
}

pub const CATEGORIES: &[Category] = &[
    Category { code: "illegal_construction", name_zh: "违建", name_en: "Illegal construction" },
    Category { code: "steel_shed", name_zh: "钢架棚", name_en: "Steel-frame shed" },
    Category { code: "dry_toilet", name_zh: "旱厕", name_en: "Dry toilet" },
    Category { code: "hoarding", name_zh: "围挡棚亭", name_en: "Hoardings, sheds and kiosks" },
    Category { code: "vegetable_plot", name_zh: "小菜园", name_en: "Vegetable plot on public land" },
    Category { code: "garbage", name_zh: "垃圾", name_en: "Rubbish" },
    Category { code: "illegal_parking", name_zh: "乱停乱放", name_en: "Illegal parking" },
    Category { code: "shopfront_clutter", name_zh: "门前堆放杂物", name_en: "Clutter in front of shops and homes" },
    Category { code: "flying_wire_charging", name_zh: "飞线充电", name_en: "E-bike charging from hanging wires" },
    Category { code: "illegal_ads", name_zh: "小广告", name_en: "Illegal adverts" },
    Category { code: "overhead_cables", name_zh: "空中蜘蛛网", name_en: "Tangled overhead cables" },
    Category { code: "other", name_zh: "其他", name_en: "Other" },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    ZhCn,
    En,
}

impl std::str::FromStr for Locale {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "zh-cn" | "zh_cn" | "zh" | "zh-hans" => Ok(Locale::ZhCn),
            "en" | "en-us" | "en-gb" => Ok(Locale::En),
            _ => Err(Error::InvalidInput(format!("unknown locale `{s}` (expected zh-CN or en)"))),
        }
    }
}

impl Category {
    /// Looks a category up by its code; the only way a code enters the system.
    pub fn from_code(code: &str) -> Result<&'static Category> {
        CATEGORIES.iter().find(|c| c.code == code).ok_or_else(|| Error::UnknownCategory(code.to_owned()))
    }

    pub fn name(&self, locale: Locale) -> &'static str {
        match locale {
            Locale::ZhCn => self.name_zh,
            Locale::En => self.name_en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in CATEGORIES {
            assert!(seen.insert(c.code), "duplicate code {}", c.code);
            assert!(c.code.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'), "{}", c.code);
            assert!(!c.name_zh.is_empty() && !c.name_en.is_empty());
        }
    }

    #[test]
    fn lookup_by_code() {
        assert_eq!(Category::from_code("flying_wire_charging").unwrap().name_zh, "飞线充电");
        assert!(matches!(Category::from_code("Garbage"), Err(Error::UnknownCategory(_))));
    }
}
