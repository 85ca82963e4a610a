//! The order demonstrations stand in the prompt. Strategies rank their
//! choice best first; the order then arranges it. Most similar last is the
//! default (KATE: the closest example right before the query); order effects
//! in in-context learning are large, so the others are there to measure them.

use rand::seq::SliceRandom;

use super::{query_rng, Demo};

crate::named! {
    /// How the chosen demonstrations are ordered in the prompt.
    #[derive(Default)]
    pub enum Order: "order" {
        /// The best-ranked (most similar) demonstration last, right before the query.
        #[default]
        SimilarLast => "similar-last",
        /// The best-ranked demonstration first.
        SimilarFirst => "similar-first",
        /// Shuffled, seeded by the seed and the query text.
        Random => "random",
    }
}

impl Order {
    /// Arranges `demos`, given best first, for the query `text`.
    pub fn arrange(self, demos: &mut [Demo], seed: u64, text: &str) {
        match self {
            Order::SimilarLast => demos.reverse(),
            Order::SimilarFirst => {}
            // Another stream than a random strategy's draw for the same query.
            Order::Random => demos.shuffle(&mut query_rng(seed.rotate_left(32), text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Example;

    fn demos(n: usize) -> Vec<Demo> {
        (0..n)
            .map(|i| Demo {
                example: Example {
                    id: i.to_string(),
                    text: format!("sentence {i}"),
                    entities: Vec::new(),
                },
                score: None,
                reason: None,
            })
            .collect()
    }

    fn ids(order: Order, seed: u64, text: &str) -> Vec<String> {
        let mut arranged = demos(8);
        order.arrange(&mut arranged, seed, text);
        arranged.into_iter().map(|d| d.example.id).collect()
    }

    #[test]
    fn orders_arrange_the_ranking() {
        assert_eq!(
            ids(Order::SimilarFirst, 1, "q"),
            ["0", "1", "2", "3", "4", "5", "6", "7"]
        );
        assert_eq!(
            ids(Order::SimilarLast, 1, "q"),
            ["7", "6", "5", "4", "3", "2", "1", "0"]
        );
        let shuffled = ids(Order::Random, 1, "q");
        assert_eq!(shuffled, ids(Order::Random, 1, "q"), "seeded");
        assert_ne!(shuffled, ids(Order::Random, 2, "q"));
        assert_ne!(shuffled, ids(Order::Random, 1, "another query"));
        let mut sorted = shuffled.clone();
        sorted.sort();
        assert_eq!(sorted, ids(Order::SimilarFirst, 1, "q"), "a permutation");
    }
}
