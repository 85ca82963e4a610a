//! Strategy parameters: each strategy declares its own ([`ParamSpec`]: name,
//! kind and range, default, help), and values given on the command line
//! (`--param lambda=0.7`), in JSON (`"params": {"lambda": 0.7}`) or by the
//! library are checked against that declaration in one place
//! ([`resolve`]), which also fills in the defaults so that a report can name
//! every value used.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A parameter's value: a number or a name. The command line gives text,
/// which [`resolve`] reads as the parameter's kind requires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A whole number.
    Count(u64),
    /// A real number.
    Real(f64),
    /// A name, or a number still in text form.
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Count(n) => write!(f, "{n}"),
            Value::Real(x) => write!(f, "{x}"),
            Value::Text(text) => write!(f, "{text:?}"),
        }
    }
}

/// What values a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A real number in `min..=max`.
    Real {
        /// The smallest value accepted.
        min: f64,
        /// The largest value accepted.
        max: f64,
    },
    /// A whole number, at least `k` (the number of demonstrations asked for):
    /// the size of a candidate pool to choose k from.
    Pool,
    /// One of these names.
    Choice(&'static [&'static str]),
    /// A whole number in `min..=max`.
    Count {
        /// The smallest value accepted.
        min: u64,
        /// The largest value accepted.
        max: u64,
    },
    /// Some of these names, comma-separated, at least one (`lexicon,kb`);
    /// stored in the order listed here, each once.
    Set(&'static [&'static str]),
}

/// One parameter of a strategy.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// The name given to `--param NAME=VALUE` and in JSON `"params"`.
    pub name: &'static str,
    /// What values it takes.
    pub kind: Kind,
    /// The value when none is given, for `k` demonstrations.
    pub default: fn(k: usize) -> Value,
    /// One line for `--help` and messages, the default included.
    pub help: &'static str,
}

/// Parameter values by name: as given (some may be missing) or, after
/// [`resolve`], one checked value for every parameter of the strategy.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Params(BTreeMap<String, Value>);

/// From a JSON object of numbers and names; any other value is refused
/// naming its parameter (an untagged [`Value`] would say only that nothing
/// matched).
impl<'de> Deserialize<'de> for Params {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let given = BTreeMap::<String, serde_json::Value>::deserialize(deserializer)?;
        let read = |(name, value): (String, serde_json::Value)| {
            let value = match value {
                serde_json::Value::Number(n) => match n.as_u64() {
                    Some(count) => Value::Count(count),
                    None => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
                },
                serde_json::Value::String(text) => Value::Text(text),
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "parameter {name}: {other} is neither a number nor a name"
                    )))
                }
            };
            Ok((canonical_name(&name), value))
        };
        given
            .into_iter()
            .map(read)
            .collect::<std::result::Result<_, _>>()
            .map(Params)
    }
}

impl Params {
    /// Reads `NAME=VALUE` pairs (the command line's `--param`); a name given
    /// twice is refused.
    pub fn from_pairs<S: AsRef<str>>(pairs: &[S]) -> Result<Params> {
        let mut params = Params::default();
        for pair in pairs {
            let pair = pair.as_ref();
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| Error::InvalidInput(format!("parameter {pair:?}: expected NAME=VALUE")))?;
            params.set(name.trim(), Value::Text(value.trim().to_string()))?;
        }
        Ok(params)
    }

    /// Sets `name` (`first-pass` and `first_pass` name the same parameter);
    /// refuses a name already set.
    pub fn set(&mut self, name: &str, value: Value) -> Result<()> {
        if self.0.insert(canonical_name(name), value).is_some() {
            return Err(Error::InvalidInput(format!("parameter {name} given twice")));
        }
        Ok(())
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The parameters set, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    fn get(&self, name: &str) -> Result<&Value> {
        self.0
            .get(name)
            .ok_or_else(|| Error::Internal(format!("parameter {name} was not resolved before use")))
    }

    /// A resolved real parameter.
    pub fn real(&self, name: &str) -> Result<f64> {
        match self.get(name)? {
            Value::Real(x) => Ok(*x),
            other => Err(Error::Internal(format!(
                "parameter {name} is {other}, not a real number"
            ))),
        }
    }

    /// A resolved whole-number parameter.
    pub fn count(&self, name: &str) -> Result<usize> {
        match self.get(name)? {
            Value::Count(n) => Ok(*n as usize),
            other => Err(Error::Internal(format!(
                "parameter {name} is {other}, not a count"
            ))),
        }
    }

    /// A resolved set parameter: its names, in the order its kind lists them.
    pub fn set_of(&self, name: &str) -> Result<Vec<&str>> {
        Ok(self.choice(name)?.split(',').collect())
    }

    /// A resolved choice parameter.
    pub fn choice(&self, name: &str) -> Result<&str> {
        match self.get(name)? {
            Value::Text(text) => Ok(text),
            other => Err(Error::Internal(format!(
                "parameter {name} is {other}, not a name"
            ))),
        }
    }
}

/// A parameter's name as specs spell it: `-` read as `_`, so that
/// `--param first-pass=knn` names `first_pass`.
fn canonical_name(name: &str) -> String {
    name.trim().replace('-', "_")
}

/// Checks `given` against `specs` (the parameters of `strategy`) for `k`
/// demonstrations and fills in the defaults: every parameter of the
/// strategy, each with a checked value of its kind. An unknown name or a
/// value out of range is [`Error::InvalidInput`] naming it.
pub fn resolve(strategy: &str, specs: &[ParamSpec], given: &Params, k: usize) -> Result<Params> {
    if let Some((unknown, _)) = given
        .iter()
        .find(|(name, _)| !specs.iter().any(|s| s.name == *name))
    {
        return Err(Error::InvalidInput(format!(
            "strategy {strategy} has no parameter {unknown:?}: it {}",
            takes(specs)
        )));
    }
    let mut resolved = Params::default();
    for spec in specs {
        let value = given
            .0
            .get(spec.name)
            .cloned()
            .unwrap_or_else(|| (spec.default)(k));
        let checked = check(spec, value, k).map_err(|problem| {
            Error::InvalidInput(format!("strategy {strategy}, parameter {}: {problem}", spec.name))
        })?;
        resolved.0.insert(spec.name.to_string(), checked);
    }
    Ok(resolved)
}

/// What a strategy with these parameters takes, for messages: `takes none`,
/// `takes lambda, candidates`.
pub(super) fn takes(specs: &[ParamSpec]) -> String {
    match specs.is_empty() {
        true => "takes none".to_string(),
        false => format!(
            "takes {}",
            specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// A whole number given as one or as text, or why it is not one.
fn whole_number(value: Value) -> std::result::Result<u64, String> {
    match value {
        Value::Count(n) => Ok(n),
        Value::Text(text) => text
            .parse()
            .map_err(|_| format!("{:?} is not a whole number", text)),
        Value::Real(x) => Err(format!("{x} is not a whole number")),
    }
}

/// The value as its kind stores it, or why it is not one.
fn check(spec: &ParamSpec, value: Value, k: usize) -> std::result::Result<Value, String> {
    let shown = value.to_string();
    match spec.kind {
        Kind::Real { min, max } => {
            let x = match value {
                Value::Count(n) => n as f64,
                Value::Real(x) => x,
                Value::Text(text) => text.parse().map_err(|_| format!("{shown} is not a number"))?,
            };
            if !(min..=max).contains(&x) {
                return Err(format!("{x} is outside [{min}, {max}]"));
            }
            Ok(Value::Real(x))
        }
        Kind::Pool => {
            let n = whole_number(value)?;
            if (n as usize) < k {
                return Err(format!("{n} candidates cannot give k = {k} demonstrations"));
            }
            Ok(Value::Count(n))
        }
        Kind::Choice(names) => match value {
            Value::Text(text) if names.contains(&text.as_str()) => Ok(Value::Text(text)),
            _ => Err(format!("{shown} is not one of {}", names.join(", "))),
        },
        Kind::Count { min, max } => {
            let n = whole_number(value)?;
            if !(min..=max).contains(&n) {
                return Err(format!("{n} is outside [{min}, {max}]"));
            }
            Ok(Value::Count(n))
        }
        Kind::Set(names) => {
            let Value::Text(text) = value else {
                return Err(format!("{shown} is not a list of {}", names.join(", ")));
            };
            let given: Vec<&str> = text.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
            if let Some(unknown) = given.iter().find(|name| !names.contains(name)) {
                return Err(format!("{unknown:?} is not one of {}", names.join(", ")));
            }
            if given.is_empty() {
                return Err(format!("name at least one of {}", names.join(", ")));
            }
            let kept: Vec<&str> = names.iter().copied().filter(|n| given.contains(n)).collect();
            Ok(Value::Text(kept.join(",")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec {
            name: "lambda",
            kind: Kind::Real { min: 0.0, max: 1.0 },
            default: |_| Value::Real(0.5),
            help: "trade-off",
        },
        ParamSpec {
            name: "candidates",
            kind: Kind::Pool,
            default: |k| Value::Count((4 * k).max(64) as u64),
            help: "pool",
        },
        ParamSpec {
            name: "fusion",
            kind: Kind::Choice(&["rrf", "weighted"]),
            default: |_| Value::Text("rrf".into()),
            help: "how",
        },
    ];

    const SET: &[ParamSpec] = &[
        ParamSpec {
            name: "sources",
            kind: Kind::Set(&["lexicon", "kb"]),
            default: |_| Value::Text("lexicon".into()),
            help: "where",
        },
        ParamSpec {
            name: "per_mention",
            kind: Kind::Count { min: 1, max: 4 },
            default: |_| Value::Count(1),
            help: "how many",
        },
    ];

    fn resolved(pairs: &[&str], k: usize) -> Result<Params> {
        resolve("mmr", SPECS, &Params::from_pairs(pairs)?, k)
    }

    #[test]
    fn defaults_are_filled_in_and_text_is_read_as_the_kind() {
        let params = resolved(&["lambda=1"], 8).unwrap();
        assert_eq!(params.real("lambda").unwrap(), 1.0);
        assert_eq!(params.count("candidates").unwrap(), 64);
        assert_eq!(params.choice("fusion").unwrap(), "rrf");
        assert_eq!(resolved(&[], 32).unwrap().count("candidates").unwrap(), 128);
        let given = resolved(&["candidates = 10", "fusion=weighted"], 10).unwrap();
        assert_eq!(given.count("candidates").unwrap(), 10);
        assert_eq!(given.choice("fusion").unwrap(), "weighted");
    }

    #[test]
    fn json_values_that_are_neither_numbers_nor_names_are_refused_naming_them() {
        for (json, needle) in [
            (r#"{"lambda": true}"#, "parameter lambda: true is neither"),
            (r#"{"candidates": [64]}"#, "parameter candidates: [64] is neither"),
            (r#"{"lambda": null}"#, "parameter lambda: null is neither"),
        ] {
            let error = serde_json::from_str::<Params>(json).unwrap_err().to_string();
            assert!(error.contains(needle), "{json}: {error}");
        }
        let negative: Params = serde_json::from_str(r#"{"candidates": -1}"#).unwrap();
        let error = resolve("mmr", SPECS, &negative, 8).unwrap_err().to_string();
        assert!(
            error.contains("parameter candidates: -1 is not a whole number"),
            "{error}"
        );
    }

    #[test]
    fn json_numbers_are_accepted_and_resolution_is_idempotent() {
        let given: Params = serde_json::from_str(r#"{"lambda": 0.25, "candidates": 16}"#).unwrap();
        let once = resolve("mmr", SPECS, &given, 8).unwrap();
        assert_eq!(resolve("mmr", SPECS, &once, 8).unwrap(), once);
        let json = serde_json::to_string(&once).unwrap();
        assert_eq!(json, r#"{"candidates":16,"fusion":"rrf","lambda":0.25}"#);
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let error = |pairs: &[&str], k| resolved(pairs, k).unwrap_err().to_string();
        assert!(
            error(&["lambda=1.5"], 8).contains("parameter lambda: 1.5"),
            "{}",
            error(&["lambda=1.5"], 8)
        );
        assert!(error(&["lambda=-0.1"], 8).contains("outside [0, 1]"));
        assert!(error(&["lambda=high"], 8).contains("\"high\" is not a number"));
        assert!(error(&["candidates=4"], 8).contains("4 candidates cannot give k = 8"));
        assert!(error(&["candidates=2.5"], 1).contains("not a whole number"));
        assert!(error(&["fusion=max"], 8).contains("not one of rrf, weighted"));
        assert!(
            error(&["alpha=1"], 8).contains("no parameter \"alpha\": it takes lambda, candidates, fusion")
        );
        assert!(error(&["lambda"], 8).contains("expected NAME=VALUE"));
        assert!(error(&["lambda=1", "lambda=0"], 8).contains("given twice"));
        let none = resolve("knn", &[], &Params::from_pairs(&["lambda=1"]).unwrap(), 8);
        assert!(none.unwrap_err().to_string().contains("it takes none"));
        let kind = resolved(&["lambda=2"], 8).unwrap_err().kind();
        assert_eq!(kind, crate::error::ErrorKind::BadInput);
        let set = |value: &str| {
            resolve(
                "entity",
                SET,
                &Params::from_pairs(&[format!("sources={value}")]).unwrap(),
                8,
            )
            .map(|p| p.set_of("sources").unwrap().join(","))
        };
        assert_eq!(set("kb, lexicon,kb").unwrap(), "lexicon,kb");
        assert!(set("lexicon,web")
            .unwrap_err()
            .to_string()
            .contains("\"web\" is not one of lexicon, kb"));
        assert!(set(",").unwrap_err().to_string().contains("at least one of"));
        let count = |value: &str| {
            resolve(
                "entity",
                SET,
                &Params::from_pairs(&[format!("per-mention={value}")]).unwrap(),
                8,
            )
        };
        assert_eq!(count("3").unwrap().count("per_mention").unwrap(), 3);
        assert!(count("0")
            .unwrap_err()
            .to_string()
            .contains("0 is outside [1, 4]"));
        let kind = count("x").unwrap_err().kind();
        assert_eq!(kind, crate::error::ErrorKind::BadInput);
    }
}
