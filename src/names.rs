//! Closed sets of named choices (strategies, prompt formats, corpus formats,
//! poolings, ...): one definition of each name.
//!
//! [`named!`](crate::named) declares such an enum with, for each variant, the
//! name used on the command line, in JSON, in reports and in the HTTP API, and
//! a line of help. From that one list come [`Named`], `Display`, `FromStr`
//! and serde, so the spellings cannot drift apart. The command line builds its
//! value parsers from [`Named::ALL`], so the library needs no `clap`.

use crate::error::{Error, Result};

/// A closed set of choices with one name each.
pub trait Named: Sized + Copy + Send + Sync + 'static {
    /// Every choice, in the order help lists them.
    const ALL: &'static [Self];
    /// What one choice is, for messages: `"strategy"`, `"prompt format"`.
    const WHAT: &'static str;

    /// The name of this choice (`knn`, `gpt-ner`, ...).
    fn name(self) -> &'static str;

    /// One line of help about this choice.
    fn help(self) -> &'static str;

    /// The choice called `name`, or an error listing the names there are.
    fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|choice| choice.name() == name)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown {} {name:?}: expected one of {}",
                    Self::WHAT,
                    Self::ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
                ))
            })
    }
}

/// Declares an enum of named choices and implements [`Named`], `Display`,
/// `FromStr`, `Serialize` and `Deserialize` from one list:
///
/// ```
/// exemplar::named! {
///     /// How loud.
///     pub enum Volume: "volume" {
///         /// Quiet.
///         Low => "low",
///         /// Loud.
///         High => "high",
///     }
/// }
/// use exemplar::names::Named;
/// assert_eq!(Volume::from_name("high").unwrap(), Volume::High);
/// assert_eq!(Volume::Low.help(), "Quiet.");
/// assert_eq!(serde_json::to_string(&Volume::High).unwrap(), "\"high\"");
/// ```
#[macro_export]
macro_rules! named {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $what:literal {
            $(
                #[doc = $help:literal]
                $(#[$variant_meta:meta])*
                $variant:ident => $spelling:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $(
                #[doc = $help]
                $(#[$variant_meta])*
                $variant,
            )+
        }

        impl $crate::names::Named for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];
            const WHAT: &'static str = $what;

            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $spelling,)+
                }
            }

            fn help(self) -> &'static str {
                match self {
                    $($name::$variant => $help.trim(),)+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::names::Named::name(*self))
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::Error;

            fn from_str(name: &str) -> $crate::error::Result<Self> {
                <$name as $crate::names::Named>::from_name(name)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str($crate::names::Named::name(*self))
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let name = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                <$name as $crate::names::Named>::from_name(&name).map_err(::serde::de::Error::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::Named;

    crate::named! {
        /// A test set.
        enum Shape: "shape" {
            /// Round.
            Circle => "circle",
            /// Four corners, two names.
            BigSquare => "big-square",
        }
    }

    #[test]
    fn names_parse_print_and_serialise_the_same_way() {
        for &shape in Shape::ALL {
            assert_eq!(shape.to_string().parse::<Shape>().unwrap(), shape);
            let json = serde_json::to_string(&shape).unwrap();
            assert_eq!(json, format!("\"{}\"", shape.name()));
            assert_eq!(serde_json::from_str::<Shape>(&json).unwrap(), shape);
        }
        assert_eq!(Shape::BigSquare.help(), "Four corners, two names.");
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let error = "square".parse::<Shape>().unwrap_err().to_string();
        assert_eq!(
            error,
            r#"unknown shape "square": expected one of circle, big-square"#
        );
        assert!(serde_json::from_str::<Shape>("\"oval\"").is_err());
    }
}
