//! What a run sends: a weighted mix of command templates, the keys they
//! touch and the values they write.
//!
//! Every command, built-in or custom, is a template of whitespace-separated
//! arguments with placeholders:
//! - `__key__` (or redis-benchmark's `__rand_int__`): the key index, twelve
//!   digits like redis-benchmark's `key:000000012345`, drawn from the key
//!   distribution;
//! - `__value__`: a value of the configured size;
//! - `__field__`: a field or member index below `--elements`;
//! - `__score__`: a random integer score.
//!
//! The first argument holding `__key__` is the key a cluster client routes by.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};
use starling_protocol::{encode_aggregate_header, encode_bulk, key_slot};

use crate::client::Request;

/// The built-in commands of `--mix`, as templates. Each data type has its own
/// key prefix so that a mix never meets WRONGTYPE.
pub const BUILT_IN_COMMANDS: &[(&str, &str)] = &[
    ("get", "GET key:__key__"),
    ("set", "SET key:__key__ __value__"),
    ("del", "DEL key:__key__"),
    ("exists", "EXISTS key:__key__"),
    ("incr", "INCR counter:__key__"),
    ("lpush", "LPUSH list:__key__ __value__"),
    ("rpush", "RPUSH list:__key__ __value__"),
    ("lpop", "LPOP list:__key__"),
    ("rpop", "RPOP list:__key__"),
    ("lrange", "LRANGE list:__key__ 0 99"),
    ("hset", "HSET hash:__key__ field:__field__ __value__"),
    ("hget", "HGET hash:__key__ field:__field__"),
    ("hgetall", "HGETALL hash:__key__"),
    ("hincrby", "HINCRBY hash:__key__ counter:__field__ 1"),
    ("sadd", "SADD set:__key__ member:__field__"),
    ("srem", "SREM set:__key__ member:__field__"),
    ("sismember", "SISMEMBER set:__key__ member:__field__"),
    ("spop", "SPOP set:__key__"),
    ("zadd", "ZADD zset:__key__ __score__ member:__field__"),
    ("zincrby", "ZINCRBY zset:__key__ 1 member:__field__"),
    ("zscore", "ZSCORE zset:__key__ member:__field__"),
    ("zrange", "ZRANGE zset:__key__ 0 9"),
    ("zrem", "ZREM zset:__key__ member:__field__"),
    ("ping", "PING"),
];

/// Key digits, as redis-benchmark writes `__rand_int__`.
const KEY_DIGITS: usize = 12;
/// Scores are drawn below this.
const SCORE_RANGE: u64 = 1_000_000;

/// How key indices are drawn from `0..keyspace`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum KeyDistribution {
    Uniform,
    /// Rank `r` is drawn with probability ∝ 1/r^exponent; index 0 is the hottest key.
    Zipfian {
        exponent: f64,
    },
    /// 0, 1, 2, ... shared by every client, wrapping at the keyspace size.
    Sequential,
}

impl FromStr for KeyDistribution {
    type Err = String;

    /// `uniform`, `sequential`, `zipfian` (exponent 0.99) or `zipfian:<exponent>`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once(':') {
            None if text == "uniform" => Ok(KeyDistribution::Uniform),
            None if text == "sequential" => Ok(KeyDistribution::Sequential),
            None if text == "zipfian" => Ok(KeyDistribution::Zipfian { exponent: 0.99 }),
            Some(("zipfian", exponent)) => match exponent.parse::<f64>() {
                Ok(exponent) if exponent > 0.0 && exponent.is_finite() => Ok(KeyDistribution::Zipfian { exponent }),
                _ => Err(format!("zipfian exponent must be a positive number, got {exponent:?}")),
            },
            _ => Err(format!(
                "unknown key distribution {text:?} (uniform, zipfian[:s], sequential)"
            )),
        }
    }
}

/// Value sizes in bytes: fixed (`16`) or uniformly drawn from a range (`16-256`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ValueSize {
    pub min_bytes: usize,
    pub max_bytes: usize,
}

impl FromStr for ValueSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parse = |part: &str| {
            part.trim()
                .parse::<usize>()
                .map_err(|_| format!("bad value size {text:?}"))
        };
        let (min_bytes, max_bytes) = match text.split_once('-') {
            Some((low, high)) => (parse(low)?, parse(high)?),
            None => (parse(text)?, parse(text)?),
        };
        if min_bytes > max_bytes || max_bytes > 512 * 1024 * 1024 {
            return Err(format!("bad value size {text:?}"));
        }
        Ok(ValueSize { min_bytes, max_bytes })
    }
}

/// One argument of a template: literal text and placeholders.
#[derive(Clone, Debug, PartialEq)]
enum Part {
    Literal(Vec<u8>),
    Key,
    Value,
    Field,
    Score,
}

/// A parsed command template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// The name reports use (the built-in name, or the template's first word).
    pub name: String,
    pub text: String,
    arguments: Vec<Vec<Part>>,
    routing_argument_opt: Option<usize>,
}

impl Template {
    pub fn parse(name: &str, text: &str) -> Result<Template, String> {
        let arguments: Vec<Vec<Part>> = text.split_whitespace().map(parse_argument).collect();
        if arguments.is_empty() {
            return Err(format!("empty command template for {name}"));
        }
        let routing_argument_opt = arguments.iter().position(|parts| parts.contains(&Part::Key));
        Ok(Template {
            name: name.to_string(),
            text: text.to_string(),
            arguments,
            routing_argument_opt,
        })
    }
}

fn parse_argument(word: &str) -> Vec<Part> {
    const PLACEHOLDERS: &[(&str, Part)] = &[
        ("__key__", Part::Key),
        ("__rand_int__", Part::Key),
        ("__value__", Part::Value),
        ("__field__", Part::Field),
        ("__score__", Part::Score),
    ];
    let mut parts = Vec::new();
    let mut rest = word;
    while !rest.is_empty() {
        let next_opt = PLACEHOLDERS
            .iter()
            .filter_map(|(marker, part)| rest.find(marker).map(|at| (at, *marker, part)))
            .min_by_key(|(at, _, _)| *at);
        let Some((at, marker, part)) = next_opt else {
            parts.push(Part::Literal(rest.as_bytes().to_vec()));
            break;
        };
        if at > 0 {
            parts.push(Part::Literal(rest.as_bytes()[..at].to_vec()));
        }
        parts.push(part.clone());
        rest = &rest[at + marker.len()..];
    }
    parts
}

/// Parses `--mix get=8,set=1,incr=1` into (built-in name, weight) pairs.
pub fn parse_mix(text: &str) -> Result<Vec<(String, u32)>, String> {
    let mut mix = Vec::new();
    for entry in text.split(',').filter(|entry| !entry.is_empty()) {
        let (name, weight) = match entry.split_once('=') {
            Some((name, weight)) => (
                name,
                weight.parse::<u32>().map_err(|_| format!("bad weight in {entry:?}"))?,
            ),
            None => (entry, 1),
        };
        let name = name.trim().to_ascii_lowercase();
        if !BUILT_IN_COMMANDS.iter().any(|(built_in, _)| *built_in == name) {
            let known: Vec<&str> = BUILT_IN_COMMANDS.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "unknown command {name:?} in --mix (known: {})",
                known.join(", ")
            ));
        }
        if weight > 0 {
            mix.push((name, weight));
        }
    }
    if mix.is_empty() {
        return Err("--mix names no command with a positive weight".to_string());
    }
    Ok(mix)
}

/// Everything about what a run sends.
#[derive(Clone, Debug, serde::Serialize)]
pub struct WorkloadConfig {
    /// (name, template, weight).
    pub commands: Vec<(String, String, u32)>,
    pub keyspace: u64,
    pub distribution: KeyDistribution,
    pub value_size: ValueSize,
    /// Fields or members per collection key.
    pub elements: u64,
    /// `EX` seconds added to SET, if any.
    pub ttl_seconds_opt: Option<u64>,
}

impl WorkloadConfig {
    /// A config from `--mix` entries, with SET getting `EX ttl` when set.
    pub fn from_mix(mix: &[(String, u32)], ttl_seconds_opt: Option<u64>) -> Vec<(String, String, u32)> {
        mix.iter()
            .map(|(name, weight)| {
                let template = BUILT_IN_COMMANDS
                    .iter()
                    .find(|(built_in, _)| built_in == name)
                    .map(|(_, template)| template.to_string())
                    .expect("parse_mix checked the name");
                let template = match ttl_seconds_opt {
                    Some(ttl) if name == "set" => format!("{template} EX {ttl}"),
                    _ => template,
                };
                (name.clone(), template, *weight)
            })
            .collect()
    }
}

/// The parsed workload, shared by every client of a run.
pub struct Workload {
    pub config: WorkloadConfig,
    templates: Vec<Template>,
    /// Running sums of the weights, for picking a template.
    weight_bounds: Vec<u32>,
    values: Vec<u8>,
    sequence: AtomicU64,
}

impl Workload {
    pub fn new(config: WorkloadConfig) -> Result<Workload, String> {
        if config.keyspace == 0 || config.elements == 0 {
            return Err("keyspace and elements must be at least 1".to_string());
        }
        let mut templates = Vec::new();
        let mut weight_bounds = Vec::new();
        let mut total_weight = 0u32;
        for (name, text, weight) in &config.commands {
            templates.push(Template::parse(name, text)?);
            total_weight = total_weight.checked_add(*weight).ok_or("weights too large")?;
            weight_bounds.push(total_weight);
        }
        if total_weight == 0 {
            return Err("the workload has no command".to_string());
        }
        let mut rng = SmallRng::seed_from_u64(0x5eed);
        let values = (0..config.value_size.max_bytes)
            .map(|_| rng.sample(rand::distributions::Alphanumeric))
            .collect();
        Ok(Workload {
            config,
            templates,
            weight_bounds,
            values,
            sequence: AtomicU64::new(0),
        })
    }

    pub fn command_names(&self) -> Vec<String> {
        self.templates.iter().map(|template| template.name.clone()).collect()
    }
}

/// Draws requests from a [`Workload`]; one per client.
pub struct Generator {
    workload: Arc<Workload>,
    rng: SmallRng,
    zipf_opt: Option<Zipf<f64>>,
    route_by_slot: bool,
    argument: Vec<u8>,
}

impl Generator {
    /// `route_by_slot` computes each request's hash slot (cluster targets only).
    pub fn new(workload: Arc<Workload>, seed: u64, route_by_slot: bool) -> Generator {
        let zipf_opt = match workload.config.distribution {
            KeyDistribution::Zipfian { exponent } => {
                Some(Zipf::new(workload.config.keyspace, exponent).expect("keyspace ≥ 1 and exponent > 0"))
            }
            _ => None,
        };
        Generator {
            workload,
            rng: SmallRng::seed_from_u64(seed),
            zipf_opt,
            route_by_slot,
            argument: Vec::with_capacity(64),
        }
    }

    /// Writes the next request into `request`; returns its command index.
    pub fn fill(&mut self, request: &mut Request) -> usize {
        let workload = Arc::clone(&self.workload);
        let pick = self
            .rng
            .gen_range(0..*workload.weight_bounds.last().expect("non-empty"));
        let command_index = workload.weight_bounds.partition_point(|&bound| bound <= pick);
        let template = &workload.templates[command_index];
        let key_index = self.next_key_index();
        request.encoded.clear();
        request.slot_opt = None;
        encode_aggregate_header(b'*', template.arguments.len(), &mut request.encoded);
        for (argument_index, parts) in template.arguments.iter().enumerate() {
            self.argument.clear();
            for part in parts {
                self.append_part(part, key_index);
            }
            if self.route_by_slot && template.routing_argument_opt == Some(argument_index) {
                request.slot_opt = Some(key_slot(&self.argument));
            }
            encode_bulk(&self.argument, &mut request.encoded);
        }
        command_index
    }

    fn append_part(&mut self, part: &Part, key_index: u64) {
        match part {
            Part::Literal(text) => self.argument.extend_from_slice(text),
            Part::Key => append_padded_decimal(&mut self.argument, key_index, KEY_DIGITS),
            Part::Value => {
                let size = &self.workload.config.value_size;
                let length = self.rng.gen_range(size.min_bytes..=size.max_bytes);
                self.argument.extend_from_slice(&self.workload.values[..length]);
            }
            Part::Field => {
                let field = self.rng.gen_range(0..self.workload.config.elements);
                append_padded_decimal(&mut self.argument, field, 1);
            }
            Part::Score => {
                let score = self.rng.gen_range(0..SCORE_RANGE);
                append_padded_decimal(&mut self.argument, score, 1);
            }
        }
    }

    fn next_key_index(&mut self) -> u64 {
        let keyspace = self.workload.config.keyspace;
        match (&self.workload.config.distribution, &self.zipf_opt) {
            (KeyDistribution::Zipfian { .. }, Some(zipf)) => (zipf.sample(&mut self.rng) as u64 - 1).min(keyspace - 1),
            (KeyDistribution::Sequential, _) => self.workload.sequence.fetch_add(1, Ordering::Relaxed) % keyspace,
            _ => self.rng.gen_range(0..keyspace),
        }
    }
}

/// Appends `value` in decimal, left-padded with zeros to `width` digits.
pub fn append_padded_decimal(out: &mut Vec<u8>, value: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut remaining = value;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (remaining % 10) as u8;
        remaining /= 10;
        if remaining == 0 {
            break;
        }
    }
    let written = digits.len() - start;
    out.extend(std::iter::repeat_n(b'0', width.saturating_sub(written)));
    out.extend_from_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(commands: &[(&str, &str, u32)], distribution: KeyDistribution, keyspace: u64) -> Arc<Workload> {
        let config = WorkloadConfig {
            commands: commands
                .iter()
                .map(|(name, text, weight)| (name.to_string(), text.to_string(), *weight))
                .collect(),
            keyspace,
            distribution,
            value_size: ValueSize {
                min_bytes: 4,
                max_bytes: 4,
            },
            elements: 10,
            ttl_seconds_opt: None,
        };
        Arc::new(Workload::new(config).unwrap())
    }

    fn arguments(request: &Request) -> Vec<Vec<u8>> {
        let mut buffer = request.encoded.clone();
        let mut decoder = starling_protocol::RequestDecoder::new(Default::default());
        let args = decoder.decode(&mut buffer).unwrap().unwrap();
        assert!(buffer.is_empty());
        args.into_iter().map(|arg| arg.to_vec()).collect()
    }

    #[test]
    fn templates_expand_placeholders_and_route_by_the_key() {
        let workload = workload(
            &[("x", "HSET h:{__key__} f__field__ __value__", 1)],
            KeyDistribution::Sequential,
            100,
        );
        let mut generator = Generator::new(workload, 1, true);
        let mut request = Request::default();
        assert_eq!(generator.fill(&mut request), 0);
        let args = arguments(&request);
        assert_eq!(args[0], b"HSET");
        assert_eq!(args[1], b"h:{000000000000}");
        assert!(args[2].starts_with(b"f") && args[2].len() == 2);
        assert_eq!(args[3].len(), 4);
        assert_eq!(request.slot_opt, Some(key_slot(b"000000000000")));
        generator.fill(&mut request);
        assert_eq!(arguments(&request)[1], b"h:{000000000001}");
    }

    #[test]
    fn keyless_templates_have_no_slot_and_standalone_skips_hashing() {
        let mut request = Request::default();
        Generator::new(workload(&[("ping", "PING", 1)], KeyDistribution::Uniform, 5), 1, true).fill(&mut request);
        assert_eq!(request.slot_opt, None);
        Generator::new(
            workload(&[("get", "GET k__key__", 1)], KeyDistribution::Uniform, 5),
            1,
            false,
        )
        .fill(&mut request);
        assert_eq!(request.slot_opt, None);
    }

    #[test]
    fn weights_pick_commands_in_proportion() {
        let workload = workload(&[("a", "GET a", 3), ("b", "GET b", 1)], KeyDistribution::Uniform, 10);
        let mut generator = Generator::new(workload, 7, false);
        let mut request = Request::default();
        let picks_a = (0..40_000).filter(|_| generator.fill(&mut request) == 0).count();
        assert!((29_000..31_000).contains(&picks_a), "{picks_a}");
    }

    #[test]
    fn zipfian_keys_favour_low_indices_and_stay_in_range() {
        let workload = workload(
            &[("get", "GET __key__", 1)],
            KeyDistribution::Zipfian { exponent: 1.2 },
            1000,
        );
        let mut generator = Generator::new(workload, 3, false);
        let draws: Vec<u64> = (0..20_000).map(|_| generator.next_key_index()).collect();
        assert!(draws.iter().all(|&key| key < 1000));
        let hottest = draws.iter().filter(|&&key| key == 0).count();
        let coldest_half = draws.iter().filter(|&&key| key >= 500).count();
        assert!(hottest > coldest_half, "hottest {hottest}, coldest half {coldest_half}");
    }

    #[test]
    fn options_parse() {
        assert_eq!("uniform".parse(), Ok(KeyDistribution::Uniform));
        assert_eq!("zipfian:1.1".parse(), Ok(KeyDistribution::Zipfian { exponent: 1.1 }));
        assert!("zipfian:-1".parse::<KeyDistribution>().is_err());
        assert_eq!(
            "16-256".parse(),
            Ok(ValueSize {
                min_bytes: 16,
                max_bytes: 256
            })
        );
        assert!("9-3".parse::<ValueSize>().is_err());
        assert_eq!(
            parse_mix("get=8,SET=1,incr").unwrap(),
            vec![("get".into(), 8), ("set".into(), 1), ("incr".into(), 1)]
        );
        assert!(parse_mix("get=8,frob=1").unwrap_err().contains("unknown command"));
        assert!(parse_mix("get=0").is_err());
    }

    #[test]
    fn padded_decimals_match_redis_benchmark_keys() {
        let mut out = Vec::new();
        append_padded_decimal(&mut out, 12345, 12);
        assert_eq!(out, b"000000012345");
        out.clear();
        append_padded_decimal(&mut out, 7, 1);
        assert_eq!(out, b"7");
    }
}
