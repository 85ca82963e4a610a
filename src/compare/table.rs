//! A comparison for people: Markdown tables of the means and of the
//! differences from `random`, and what they are over.

use std::fmt::Write;

use super::{Comparison, Delta, Figures, Metric};
use crate::names::Named;
use crate::select::Strategy;

impl Comparison {
    /// The means per strategy, the differences from `random` with their
    /// intervals, and notes on what each figure is over.
    pub fn table(&self) -> String {
        // Writing to a String cannot fail.
        let mut s = String::new();
        let settings = &self.settings;
        let _ = writeln!(
            s,
            "{} queries ({} with gold entities), k = {}\n",
            self.queries, self.queries_with_entities, settings.k
        );
        let rows: Vec<(Strategy, &Figures)> = settings
            .measured()
            .into_iter()
            .filter_map(|strategy| Some((strategy, self.strategies.get(&strategy)?)))
            .collect();
        header(&mut s);
        for (strategy, figures) in &rows {
            let cells = Metric::ALL
                .iter()
                .map(|m| figures.means.get(m).copied().flatten().map(|v| format!("{v:.3}")));
            row(&mut s, &label(*strategy, figures), cells);
        }
        let _ = writeln!(
            s,
            "\ndifference from random, with its 95% interval (paired bootstrap over queries, {} resamples, seed {}):\n",
            settings.samples, settings.seed
        );
        header(&mut s);
        for (strategy, figures) in rows.iter().filter(|(strategy, _)| *strategy != Strategy::Random) {
            let cells = Metric::ALL
                .iter()
                .map(|m| figures.vs_random.get(m).copied().flatten().map(delta_cell));
            row(&mut s, strategy.name(), cells);
        }
        self.notes(&mut s);
        s
    }

    /// What the means are over, and where the baseline came from.
    fn notes(&self, s: &mut String) {
        let gold: Vec<&str> = Metric::ALL
            .iter()
            .filter(|m| m.needs_gold())
            .map(|m| m.name())
            .collect();
        let _ = writeln!(
            s,
            "\n{} are means over the {} queries with gold entities (the others have nothing to cover); \
             the other figures over every query. diversity is the mean similarity between two \
             demonstrations of a set: lower is more diverse. Similarities are cosines of the index's vectors.",
            gold.join(" and "),
            self.queries_with_entities
        );
        if self.random_added {
            let _ = writeln!(s, "random was not asked for: it is measured as the baseline.");
        }
    }
}

/// A strategy with the parameters it was measured with.
fn label(strategy: Strategy, figures: &Figures) -> String {
    let params: Vec<String> = figures
        .method
        .params
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    match params.is_empty() {
        true => strategy.name().to_string(),
        false => format!("{} ({})", strategy.name(), params.join(", ")),
    }
}

fn delta_cell(delta: Delta) -> String {
    format!(
        "{:+.3} [{:+.3}, {:+.3}]",
        delta.delta, delta.ci95[0], delta.ci95[1]
    )
}

fn header(s: &mut String) {
    let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
    let _ = writeln!(s, "| strategy | {} |", names.join(" | "));
    let _ = writeln!(s, "| --- |{}", " ---: |".repeat(names.len()));
}

/// One table row; `None` cells (undefined everywhere) show as `n/a`.
fn row(s: &mut String, name: &str, cells: impl Iterator<Item = Option<String>>) {
    let cells: Vec<String> = cells.map(|c| c.unwrap_or_else(|| "n/a".into())).collect();
    let _ = writeln!(s, "| {name} | {} |", cells.join(" | "));
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::Settings;
    use super::*;
    use crate::index::SearchMode;
    use crate::select::{Filters, Method, Params};

    fn figures(strategy: Strategy, value: f64, delta: Option<Delta>) -> Figures {
        let method = Method::new(strategy).resolve(4).unwrap();
        Figures {
            method,
            means: Metric::ALL
                .iter()
                .map(|&m| (m, (m != Metric::Diversity).then_some(value)))
                .collect(),
            counted: BTreeMap::new(),
            vs_random: Metric::ALL.iter().map(|&m| (m, delta)).collect(),
        }
    }

    #[test]
    fn tables_show_means_deltas_and_what_they_are_over() {
        let gain = Delta {
            delta: 0.25,
            ci95: [0.125, 0.375],
            pairs: 3,
        };
        let comparison = Comparison {
            strategies: [
                (Strategy::Mmr, figures(Strategy::Mmr, 0.5, Some(gain))),
                (Strategy::Random, figures(Strategy::Random, 0.25, None)),
            ]
            .into_iter()
            .collect(),
            settings: Settings {
                strategies: vec![Strategy::Mmr],
                params: Params::default(),
                filters: Filters::default(),
                k: 4,
                search: SearchMode::Exact,
                seed: 9,
                samples: 100,
            },
            queries: 5,
            queries_with_entities: 3,
            random_added: true,
        };
        let table = comparison.table();
        assert!(
            table.starts_with("5 queries (3 with gold entities), k = 4\n"),
            "{table}"
        );
        let header =
            "| strategy | type_coverage | mention_coverage | mean_similarity | with_entities | diversity |";
        assert_eq!(table.matches(header).count(), 2, "{table}");
        assert!(
            table.contains("| mmr (candidates=64, lambda=0.5) | 0.500 | 0.500 | 0.500 | 0.500 | n/a |"),
            "{table}"
        );
        assert!(table.contains("| random | 0.250 |"), "{table}");
        assert!(table.contains("100 resamples, seed 9"), "{table}");
        assert!(table.contains("| mmr | +0.250 [+0.125, +0.375] |"), "{table}");
        assert!(
            !table.contains("| random | n/a"),
            "the baseline has no difference row: {table}"
        );
        assert!(
            table.contains("type_coverage and mention_coverage are means over the 3 queries"),
            "{table}"
        );
        assert!(table.contains("random was not asked for"), "{table}");
    }
}
