//! Hubei province administrative divisions: 17 city-level units and their
//! counties/districts (NBS 2023 codes), embedded from
//! `data/regions/hubei.tsv`. See `data/regions/SOURCE.md` for provenance.

use std::sync::LazyLock;

const TSV: &str = include_str!("../../data/regions/hubei.tsv");
const HEADER: &str = "code\tname\tcity_code\tpinyin";

/// A county-level unit (区/县/县级市…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct County {
    pub code: &'static str,
    pub name: &'static str,
}

/// A city-level unit. The four 省直管 units (仙桃, 潜江, 天门, 神农架) have
/// themselves as their single county.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct City {
    pub code: &'static str,
    pub name: &'static str,
    pub pinyin: &'static str,
    pub counties: Vec<County>,
}

static CITIES: LazyLock<Vec<City>> = LazyLock::new(parse);

/// Parses the embedded TSV: city rows (empty `city_code`) precede counties.
fn parse() -> Vec<City> {
    let mut lines = TSV.lines();
    assert_eq!(lines.next(), Some(HEADER), "hubei.tsv: bad header");
    let mut cities: Vec<City> = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let mut f = line.split('\t');
        let mut field = || f.next().expect("hubei.tsv: missing field");
        let (code, name, city_code) = (field(), field(), field());
        let pinyin = f.next().unwrap_or("");
        if city_code.is_empty() {
            let counties = Vec::new();
            cities.push(City {
                code,
                name,
                pinyin,
                counties,
            });
        } else {
            cities
                .iter_mut()
                .find(|c| c.code == city_code)
                .expect("hubei.tsv: county listed before or without its city")
                .counties
                .push(County { code, name });
        }
    }
    cities
}

/// All 17 city-level units in GB/T 2260 order.
pub fn cities() -> &'static [City] {
    &CITIES
}

pub fn city(code: &str) -> Option<&'static City> {
    cities().iter().find(|c| c.code == code)
}

pub fn city_by_pinyin(p: &str) -> Option<&'static City> {
    cities().iter().find(|c| c.pinyin == p)
}

/// The city a county lies under. Only the cities sharing the county code's
/// first four digits can hold it (GB/T 2260; the four units directly under
/// the province share 4290).
pub fn city_of_county(county_code: &str) -> Option<&'static City> {
    let prefix = county_code.get(..4)?;
    cities()
        .iter()
        .filter(|c| c.code.starts_with(prefix))
        .find(|c| c.counties.iter().any(|k| k.code == county_code))
}

/// The county `county_code` if it lies under `city_code`.
pub fn county(city_code: &str, county_code: &str) -> Option<&'static County> {
    let counties = &city(city_code)?.counties;
    counties.iter().find(|c| c.code == county_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIRECT: [&str; 4] = ["429004", "429005", "429006", "429021"];

    #[test]
    fn seventeen_cities_in_order_with_pinyin() {
        assert_eq!(cities().len(), 17);
        assert!(cities().windows(2).all(|w| w[0].code < w[1].code));
        assert!(cities().iter().all(|c| !c.pinyin.is_empty()));
        assert_eq!(city_by_pinyin("enshi").map(|c| c.code), Some("422800"));
        assert!(city_by_pinyin("beijing").is_none());
    }

    #[test]
    fn wuhan_and_county_lookup() {
        let wh = city("420100").expect("Wuhan present");
        assert_eq!(wh.name, "武汉市");
        assert_eq!(wh.counties.len(), 13);
        assert_eq!(county("420100", "420106").map(|c| c.name), Some("武昌区"));
        assert!(county("420100", "420506").is_none()); // a Yichang district
        assert_eq!(county("420500", "420506").map(|c| c.name), Some("夷陵区"));
        assert!(county("999999", "420106").is_none());
    }

    #[test]
    fn direct_units_are_their_own_only_county() {
        assert_eq!(city("429004").map(|c| c.name), Some("仙桃市"));
        for code in DIRECT {
            let c = city(code).expect("direct unit present");
            let only: Vec<_> = c.counties.iter().map(|k| (k.code, k.name)).collect();
            assert_eq!(only, [(c.code, c.name)]);
        }
    }

    #[test]
    fn every_county_finds_its_city() {
        for c in cities() {
            for k in &c.counties {
                assert_eq!(city_of_county(k.code).map(|x| x.code), Some(c.code));
            }
        }
        for bad in ["", "42", "420199", "429099", "中文字符"] {
            assert!(city_of_county(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn county_codes_share_city_prefix() {
        for c in cities() {
            assert_eq!(c.code.len(), 6);
            for k in &c.counties {
                assert_eq!(k.code.len(), 6);
                if DIRECT.contains(&c.code) {
                    assert_eq!(k.code, c.code);
                } else {
                    assert_eq!(k.code[..4], c.code[..4], "{} under {}", k.code, c.code);
                }
            }
        }
    }
}
