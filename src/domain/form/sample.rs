//! Complete, valid synthetic applications (示例数据) for demo data and benchmarks.

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};

use super::definition::{FieldKind, ProgramDef};
use super::sample_text::{self as st, Facts};
use crate::domain::credit_code::CreditCode;
use crate::domain::region;

/// splitmix64: small, deterministic, good enough for sample data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    /// Uniform in `lo..hi` as a float.
    fn float(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
}

const BRANDS: &[&str] = &[
    "楚天", "荆楚", "江汉", "汉江", "鄂东", "东湖", "三峡", "武当", "清江", "云梦", "赤壁", "神农",
    "黄鹤", "长江", "九州",
];

/// (industry option, business, main products)
const TRADES: &[(&str, &str, &str)] = &[
    ("食品", "食品", "调味品和休闲食品"),
    ("石化", "化工", "精细化工中间体"),
    ("汽车", "汽车零部件", "汽车底盘零部件"),
    ("医药", "生物医药", "原料药和制剂"),
    ("电子信息", "电子科技", "光通信器件"),
    ("机械", "精密机械", "数控机床功能部件"),
    ("建材", "新型建材", "新型墙体材料"),
    ("纺织", "纺织", "棉纺纱线和面料"),
    ("冶金", "特钢", "特种钢材"),
    ("电热", "电力设备", "电热设备"),
    ("金属制品", "金属制品", "金属结构件"),
    ("其它", "环保装备", "工业废水处理装备"),
];

const SURNAMES: &[&str] = &["张", "王", "李", "刘", "陈", "杨", "黄", "周", "吴", "徐"];
const GIVEN: &[&str] = &[
    "伟", "敏", "静", "磊", "洋", "丽", "军", "勇", "芳", "涛", "晓明", "海燕",
];

/// (name, level)
const HONOURS: &[(&str, &str)] = &[
    ("国家级工业互联网试点示范项目", "国家级"),
    ("国家两化融合管理体系贯标试点企业", "国家级"),
    ("湖北省两化融合试点示范企业", "省级"),
    ("湖北省智能制造试点示范项目", "省级"),
    ("湖北省制造业与互联网融合发展试点示范企业", "省级"),
    ("市级数字化车间", "市级"),
    ("市级双创示范基地", "市级"),
];

/// A complete, valid sample application for `seed`, dated relative to today
/// in Asia/Shanghai.
pub fn sample_answers(seed: u64) -> Value {
    let tz =
        TimeZone::get("Asia/Shanghai").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(8)));
    sample_answers_on(seed, jiff::Timestamp::now().to_zoned(tz).date())
}

/// A complete, valid sample application for `seed` as of `today`
/// (honours fall within the three years before it), for the 2021 batch's
/// form (finance years 2018–2020). Deterministic.
pub fn sample_answers_on(seed: u64, today: Date) -> Value {
    sample_answers_for(seed, today, 2021)
}

/// As [`sample_answers_on`], for a form whose reference year is
/// `reference_year` (finance years the three before it).
pub fn sample_answers_for(seed: u64, today: Date, reference_year: i16) -> Value {
    sample(seed, today, reference_year, None)
}

/// As [`sample_answers_on`], for an enterprise of city `city_code` (the
/// other answers as for `seed`).
pub fn sample_answers_in_city(seed: u64, today: Date, city_code: &str) -> Value {
    sample(seed, today, 2021, region::city(city_code))
}

fn sample(seed: u64, today: Date, reference_year: i16, city: Option<&region::City>) -> Value {
    let mut r = Rng(seed ^ 0x5348_454E_4241_4F21);
    let cities = region::cities();
    let drawn = r.pick(cities);
    let city = city.unwrap_or(drawn);
    let county = if city.counties.is_empty() {
        None
    } else {
        Some(r.pick(&city.counties))
    };
    let (county_code, county_name) = county.map_or((city.code, city.name), |c| (c.code, c.name));
    let brand = r.pick(BRANDS);
    let &(industry, business, product) = r.pick(TRADES);
    let suffix = if r.range(0, 1) == 0 {
        "有限公司"
    } else {
        "股份有限公司"
    };
    let short_city = ["土家族苗族自治州", "林区", "市"]
        .iter()
        .fold(city.name, |n, suffix| n.strip_suffix(suffix).unwrap_or(n));
    let company = format!("{short_city}{brand}{business}{suffix}（示例数据）");
    let industry_value = if industry == "其它" {
        json!({"choice": "其它", "other": business})
    } else {
        json!({"choice": industry})
    };

    let mut finance = Map::new();
    let mut it_staff = 0;
    let mut assets = r.float(3_000.0, 150_000.0);
    let mut revenue = assets * r.float(0.5, 1.4);
    for year in (1..=3).rev().map(|n| (reference_year - n).to_string()) {
        let margin = r.float(0.02, 0.1);
        it_staff = if it_staff == 0 {
            r.range(8, 120)
        } else {
            it_staff + r.range(0, 12)
        };
        finance.insert(
            year,
            json!({
                "total_assets": format!("{assets:.2}"),
                "debt_ratio": format!("{:.2}", r.float(25.0, 70.0)),
                "revenue": format!("{revenue:.2}"),
                "tax": format!("{:.2}", revenue * r.float(0.02, 0.06)),
                "profit": format!("{:.2}", revenue * margin),
                "it_staff": it_staff.to_string(),
            }),
        );
        assets *= r.float(1.02, 1.15);
        revenue *= r.float(1.0, 1.2);
    }

    let mut honours = Vec::new();
    for _ in 0..r.range(1, 3) {
        let &(name, level) = r.pick(HONOURS);
        let days = r.range(20, 3 * 365 - 20) as i64;
        let date = today.checked_sub(days.days()).unwrap_or(today);
        honours.push(json!({"name": name, "level": level, "date": date.to_string()}));
    }

    let platform = format!("{brand}云工业互联网平台");
    let provider = format!("湖北{brand}云科技有限公司（示例数据）");
    let mut services = Map::new();
    for (key, name, used) in [
        (
            "identifier_resolution",
            format!("{brand}标识解析二级节点"),
            r.range(0, 2) == 0,
        ),
        ("platform", platform.clone(), true),
        (
            "security",
            format!("{brand}工控安全监测服务"),
            r.range(0, 1) == 0,
        ),
    ] {
        let v = if used {
            json!({"used": true, "service_name": name, "provider": provider, "in_pool": r.range(0, 3) > 0})
        } else {
            json!({"used": false})
        };
        services.insert(key.into(), v);
    }

    let all_goals = [
        "生产工艺流程优化",
        "设备管理优化",
        "能源效率优化",
        "供应链管理协同",
        "人力及财务流程优化",
        "网络安全优化",
        "全流程质量优化",
        "规模定制优化",
        "产品服务优化",
    ];
    let goals: Vec<&str> = all_goals
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || r.range(0, 2) == 0)
        .map(|(_, g)| *g)
        .collect();

    let spend = r.float(60.0, 900.0);
    let saving = spend * r.float(0.3, 1.2);
    let facts = Facts {
        company: company.clone(),
        city: city.name.to_string(),
        county: if county_name == city.name {
            String::new()
        } else {
            county_name.to_string()
        },
        industry: if industry == "其它" {
            business.to_string()
        } else {
            industry.to_string()
        },
        product: product.to_string(),
        founded_year: r.range(1988, 2015) as i16,
        platform: platform.clone(),
        provider,
        spend,
        saving,
        ratio: r.float(5.0, 30.0),
        staff: r.range(120, 3000) as u32,
        it_staff: it_staff as u32,
        pct: std::array::from_fn(|_| r.range(5, 40) as u32),
    };
    let founded = Date::new(
        facts.founded_year,
        r.range(1, 12) as i8,
        r.range(1, 28) as i8,
    )
    .unwrap_or(Date::constant(2000, 1, 1));
    let seq = (seed % 90_000_000) as u32;
    let surname = r.pick(SURNAMES);
    let given = r.pick(GIVEN);
    let mobile = format!(
        "1{}{:08}",
        r.pick(&["35", "37", "39", "58", "86", "89"]),
        r.range(0, 99_999_999)
    );

    let mut a = json!({
        "company_name": company,
        "industry": industry_value,
        "credit_code": CreditCode::synthesize(county_code, seq).as_str(),
        "founded": founded.to_string(),
        "above_scale": true,
        "it_department": r.range(0, 4) > 0,
        "region": {"city": city.code, "county": county_code},
        "products": product,
        "address": format!("{}{}工业园{}号（示例数据）", city.name, facts.county, r.range(1, 300)),
        "finance": finance,
        "contact_name": format!("{surname}{given}"),
        "contact_title": "信息中心主任",
        "contact_mobile": mobile,
        "contact_email": format!("demo{seed}@example.com"),
        "honours": honours,
        "cloud_services": services,
        "cloud_goals": goals,
        "cloud_spend": format!("{spend:.2}"),
        "cost_saving": format!("{saving:.2}"),
        "cost_saving_ratio": format!("{:.2}", facts.ratio),
        "effect_summary": st::effect_summary(&facts),
        "overview": st::overview(&facts),
        "technology": st::technology(&facts),
        "industry_advantage": st::advantage(&facts),
        "construction": st::construction(&facts),
        "team": st::team(&facts),
        "investment": st::investment(&facts),
        "innovation": st::innovation(&facts),
        "direct_effects": st::direct_effects(&facts),
        "demonstration": st::demonstration(&facts),
    });
    // Every acknowledgement of the shipped form is confirmed.
    if let Value::Object(obj) = &mut a {
        for f in ProgramDef::builtin().form.fields() {
            if let FieldKind::Acknowledgements { items, .. } = &f.kind {
                let confirmed: Map<String, Value> = items
                    .iter()
                    .map(|i| (i.key.clone(), Value::Bool(true)))
                    .collect();
                obj.insert(f.key.clone(), Value::Object(confirmed));
            }
        }
    }
    a
}
