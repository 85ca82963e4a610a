//! Rendered prompts (snapshots), round trips of every format, truncation,
//! templates and definitions.

use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::corpus::Entity;
use crate::names::Named;

/// An example whose entities are given by their text (first occurrence).
fn example(id: &str, text: &str, mentions: &[(&str, &str)]) -> Example {
    let entities = mentions
        .iter()
        .map(|(mention, label)| {
            let byte = text.find(mention).expect("mention in text");
            let start = text[..byte].chars().count();
            Entity {
                start,
                end: start + mention.chars().count(),
                label: label.to_string(),
                text: mention.to_string(),
            }
        })
        .collect();
    Example {
        id: id.into(),
        text: text.into(),
        entities,
    }
}

fn definitions_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/definitions")
}

fn bc5cdr_context() -> Context {
    Context {
        definitions: load_definitions(definitions_dir().join("bc5cdr.json")).unwrap(),
        ..Context::new(["Chemical", "Disease"])
    }
}

/// Two demonstrations in prompt order (least similar first) and a query.
fn demos() -> Vec<Example> {
    vec![
        example(
            "train.tsv:7",
            "Lidocaine caused seizures in a patient with Sjögren 's syndrome .",
            &[
                ("Lidocaine", "Chemical"),
                ("seizures", "Disease"),
                ("Sjögren 's syndrome", "Disease"),
            ],
        ),
        example(
            "train.tsv:3",
            "Cisplatin - induced nephrotoxicity was reversible .",
            &[("Cisplatin", "Chemical"), ("nephrotoxicity", "Disease")],
        ),
    ]
}

const QUERY: &str = "Aspirin - induced asthma in a naïve patient .";

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

#[test]
fn rendered_prompts() {
    let ctx = bc5cdr_context();
    for &format in PromptFormat::ALL {
        let style = format.style();
        let passes = style.passes(&ctx.types);
        let pass = passes.last().unwrap(); // Disease, for the one-type formats
        let prompt = build(&*style, pass, &ctx, &demos(), QUERY, None);
        assert_eq!(prompt.dropped, 0);
        let name = format.name().replace('-', "_");
        insta::assert_snapshot!(format!("{name}_completion"), prompt.completion_text());
        insta::assert_json_snapshot!(format!("{name}_chat"), prompt.chat_messages());
    }
}

#[test]
fn completion_layout_ends_with_the_answer_cue() {
    let ctx = bc5cdr_context();
    let prompt = build(&list::List, &Pass::all(), &ctx, &demos(), QUERY, None);
    let text = prompt.completion_text();
    assert!(text.ends_with(&format!("\nInput: {QUERY}\nOutput:\n")), "{text}");
    assert_eq!(text.matches("\nInput: ").count(), 3);
    assert_eq!(prompt.stop_sequences(), ["\nInput:"]);
    // The most similar demonstration is right before the query.
    let last_shot = text.rfind("Cisplatin - induced").unwrap();
    assert!(last_shot > text.rfind("Lidocaine caused").unwrap());
    let messages = prompt.chat_messages();
    let roles: Vec<&str> = messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "user", "assistant", "user"]
    );
    assert_eq!(
        messages[4].content,
        "Chemical: Cisplatin\nDisease: nephrotoxicity"
    );
    assert_eq!(messages[5].content, QUERY);
}

/// A budget of `max` tokens counted by `count`, demonstrations dropped in `order`.
fn budget<'a>(max: usize, count: &'a dyn Fn(&str) -> usize, order: &'a [usize]) -> Budget<'a> {
    Budget {
        max_tokens: max,
        count_tokens: count,
        drop_order: order,
    }
}

#[test]
fn the_drop_order_leaves_out_the_least_similar_wherever_the_order_put_it() {
    let ctx = bc5cdr_context();
    let demos = vec![
        example("a", "most similar first", &[]),
        example("b", "second", &[]),
        example("c", "the least similar comes last here", &[]),
    ];
    let order = drop_order(&[Some(0.9), Some(0.5), Some(0.1)]);
    assert_eq!(order, [2, 1, 0]);
    assert_eq!(drop_order(&[None, None]), [0, 1], "no scores: the front first");
    assert_eq!(
        drop_order(&[Some(0.3), Some(0.3), Some(0.1)]),
        [2, 0, 1],
        "equals: the front first"
    );
    let full = build(&dice::Dice, &Pass::for_type("Disease"), &ctx, &demos, QUERY, None);
    let total = words(&full.completion_text());
    let cut = build(
        &dice::Dice,
        &Pass::for_type("Disease"),
        &ctx,
        &demos,
        QUERY,
        Some(&budget(total - 1, &words, &order)),
    );
    assert_eq!(cut.dropped, 1);
    assert_eq!(cut.kept, [0, 1]);
    assert_eq!(cut.shots, full.shots[..2]);
}

#[test]
fn truncation_drops_the_least_similar_first() {
    let ctx = bc5cdr_context();
    let demos = vec![
        example("a", "first demo is the least similar", &[]),
        example("b", "second demo", &[]),
        example("c", "third demo is the most similar one", &[]),
    ];
    let full = build(&dice::Dice, &Pass::for_type("Disease"), &ctx, &demos, QUERY, None);
    let total = words(&full.completion_text());
    let per_shot = |input: &str| words(input) + 3; // "Input:", "Output:", "None"

    let at = |max| {
        build(
            &dice::Dice,
            &Pass::for_type("Disease"),
            &ctx,
            &demos,
            QUERY,
            Some(&budget(max, &words, &[])),
        )
    };
    assert_eq!(at(total), full);
    let without_first = at(total - 1);
    assert_eq!(without_first.dropped, 1);
    assert_eq!(without_first.shots, full.shots[1..]);
    let one_left = total - per_shot(&demos[0].text) - per_shot(&demos[1].text);
    let last_only = at(one_left);
    assert_eq!(last_only.dropped, 2);
    assert_eq!(last_only.shots[0].0, "third demo is the most similar one");
    assert_eq!(at(one_left - 1).dropped, 3);
    let nothing_fits = at(1);
    assert_eq!((nothing_fits.dropped, nothing_fits.shots.len()), (3, 0));
    assert_eq!(nothing_fits.query, QUERY);
    let no_demos = build(
        &dice::Dice,
        &Pass::for_type("Disease"),
        &ctx,
        &[],
        QUERY,
        Some(&budget(1, &words, &[])),
    );
    assert_eq!(no_demos.dropped, 0);
}

/// The query with two hints, the more specific first.
fn hinted() -> QueryInput<'static> {
    static HINTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let hints = HINTS.get_or_init(|| {
        vec![
            "`nephrotoxicity`: Abnormality of the genitourinary system (HPO Nephrotoxicity)".to_string(),
            "`cisplatin`: seen in the annotated pool as Chemical (3×)".to_string(),
        ]
    });
    QueryInput { text: QUERY, hints }
}

#[test]
fn hints_follow_the_instruction_in_every_format() {
    let ctx = bc5cdr_context();
    let query = hinted();
    let hints = query.hints;
    for &format in PromptFormat::ALL {
        let style = format.style();
        for pass in style.passes(&ctx.types) {
            let prompt = build(&*style, &pass, &ctx, &demos(), query, None);
            let listed = format!("{HINTS_HEADING}\n- {}\n- {}", hints[0], hints[1]);
            let text = prompt.completion_text();
            let at = text.find(&listed).unwrap_or_else(|| panic!("{format}: {text}"));
            assert!(
                at < text.find("\nInput: ").unwrap(),
                "{format}: before the demonstrations"
            );
            let messages = prompt.chat_messages();
            assert!(messages[0].content.ends_with(&listed), "{format}");
            assert_eq!(messages.last().unwrap().content, style.render_input(QUERY, &pass));
            let plain = build(&*style, &pass, &ctx, &demos(), QUERY, None);
            assert!(!plain.completion_text().contains(HINTS_HEADING));
            assert_eq!(plain.system_text(), plain.instruction.trim());
        }
    }
}

#[test]
fn hints_are_dropped_before_demonstrations_the_least_specific_first() {
    let ctx = bc5cdr_context();
    let query = hinted();
    let hints = query.hints;
    let at = |max: Option<usize>| {
        let cut = max.map(|max| budget(max, &words, &[]));
        build(&list::List, &Pass::all(), &ctx, &demos(), query, cut.as_ref())
    };
    let full = at(None);
    let total = words(&full.completion_text());
    assert_eq!(at(Some(total)), full);
    let one_less = at(Some(total - 1));
    assert_eq!(
        (
            one_less.hints.as_slice(),
            one_less.dropped_hints,
            one_less.dropped
        ),
        (&hints[..1], 1, 0)
    );
    let no_hints = build(&list::List, &Pass::all(), &ctx, &demos(), QUERY, None);
    let without = words(&no_hints.completion_text());
    assert_eq!(at(Some(without)).shots, full.shots);
    assert_eq!(at(Some(without)).dropped_hints, 2);
    let fewer_demos = at(Some(without - 1));
    assert_eq!((fewer_demos.dropped_hints, fewer_demos.dropped), (2, 1));
    assert!(fewer_demos.hints.is_empty());
    let nothing = at(Some(1));
    assert_eq!(
        (nothing.dropped_hints, nothing.dropped, nothing.query.as_str()),
        (2, 2, QUERY)
    );
}

#[test]
fn templates_fill_placeholders_and_drop_empty_paragraphs() {
    let mut ctx = Context::new(["Chemical", "Disease"]);
    let text = list::List.instruction(&Pass::all(), &ctx);
    assert!(
        text.contains("entity types in the input text: Chemical, Disease."),
        "{text}"
    );
    assert!(
        !text.contains("Definitions") && !text.contains("guidelines") && !text.contains('{'),
        "{text}"
    );
    assert!(!text.contains("\n\n\n"));

    ctx.definitions.insert(
        "Disease".into(),
        "An illness ({type} is not expanded here).".into(),
    );
    ctx.guidelines = Some("Mark the longest mention.\n".into());
    let text = tanl::Tanl.instruction(&Pass::all(), &ctx);
    assert!(
        text.contains(
            "Definitions of the entity types:\n- Disease: An illness ({type} is not expanded here)."
        ),
        "{text}"
    );
    assert!(
        text.contains("Annotation guidelines:\nMark the longest mention.\n\nAnswer"),
        "{text}"
    );

    ctx.template =
        Some("Find {type}s ({definition}). JSON like {\"a\": 1} stays.\n\nGuidelines: {guidelines}".into());
    let text = gpt_ner::GptNer.instruction(&Pass::for_type("Disease"), &ctx);
    assert_eq!(
        text,
        "Find Diseases (An illness ({type} is not expanded here).). JSON like {\"a\": 1} stays.\n\nGuidelines: Mark the longest mention."
    );

    assert!(check_template(&dice::Dice, "Find {types}.").is_err());
    assert!(check_template(&dice::Dice, "Find {type}.").is_ok());
    assert!(check_template(&list::List, "Find {type}.").is_err());
    for &format in PromptFormat::ALL {
        assert!(
            check_template(&*format.style(), format.default_template()).is_ok(),
            "{format}"
        );
    }
}

#[test]
fn formats_by_name() {
    for &format in PromptFormat::ALL {
        assert_eq!(format.style().format(), format);
        assert_eq!(format.name().parse::<PromptFormat>().unwrap(), format);
        assert_eq!(serde_json::to_string(&format).unwrap(), format!("\"{format}\""));
    }
    assert!("gpt_ner".parse::<PromptFormat>().is_err());
    let ctx = bc5cdr_context();
    assert_eq!(list::List.passes(&ctx.types), [Pass::all()]);
    assert_eq!(tanl::Tanl.passes(&ctx.types), [Pass::all()]);
    assert_eq!(
        dice::Dice.passes(&ctx.types),
        [Pass::for_type("Chemical"), Pass::for_type("Disease")]
    );
}

#[test]
fn shipped_definitions_cover_their_corpora() {
    let expect: [(&str, &[&str]); 4] = [
        ("ncbi-disease", &["Disease"]),
        ("bc5cdr", &["Chemical", "Disease"]),
        (
            "bionlp13cg",
            &[
                "Amino_acid",
                "Anatomical_system",
                "Cancer",
                "Cell",
                "Cellular_component",
                "Developing_anatomical_structure",
                "Gene_or_gene_product",
                "Immaterial_anatomical_entity",
                "Multi-tissue_structure",
                "Organ",
                "Organism",
                "Organism_subdivision",
                "Organism_substance",
                "Pathological_formation",
                "Simple_chemical",
                "Tissue",
            ],
        ),
        (
            "medqa-usmle-symp",
            &[
                "Age_Group",
                "Finding",
                "Location",
                "No_Finding_Occurence",
                "No_Symptom_Occurence",
                "Population_Group",
                "Relevant_symptoms",
                "Sign_or_Symptom",
                "Temporal_Concept",
            ],
        ),
    ];
    for (name, types) in expect {
        let definitions = load_definitions(definitions_dir().join(format!("{name}.json"))).unwrap();
        let keys: Vec<&str> = definitions.keys().map(String::as_str).collect();
        assert_eq!(keys, types, "{name}");
    }
}

#[test]
fn bad_definition_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("defs.json");
    std::fs::write(&path, "[\"Disease\"]").unwrap();
    let message = load_definitions(&path).unwrap_err().to_string();
    assert!(
        message.contains("defs.json") && message.contains("JSON object"),
        "{message}"
    );
    std::fs::write(&path, "{\"Disease\": \" \"}").unwrap();
    assert!(load_definitions(&path)
        .unwrap_err()
        .to_string()
        .contains("Disease"));
    assert!(matches!(
        load_definitions(dir.path().join("none.json")),
        Err(Error::Io { .. })
    ));
}

#[test]
fn merged_passes_unite_spans() {
    let ctx = Context::new(["Chemical", "Disease"]);
    let query = "Aspirin - induced asthma .";
    let mut all = Parsed::default();
    for (pass, answer) in [("Chemical", "Aspirin\nibuprofen"), ("Disease", "")] {
        all.merge(dice::Dice.parse(answer, query, &Pass::for_type(pass), &ctx));
    }
    assert_eq!(
        all.spans,
        [Span {
            start: 0,
            end: 7,
            label: "Chemical".into()
        }]
    );
    assert_eq!((all.not_found, all.empty), (1, true));
}

// ---- round trips ----------------------------------------------------------

#[rustfmt::skip]
const VOCABULARY: &[&str] = &[
    "the", "patient", "BRCA1", "Sjögren", "'s", "syndrome", "β-catenin", "naïve", "T", "cells",
    "aspirin", "IL-2", "breast", "cancer", "of", "and", "with", "(", ")", ",", ".", ":", "-", "7",
    "Behçet", "α1-antitrypsin", "[3H]thymidine", "μg/kg", "Ångström", "5-FU", "日本", "deficiency",
    "tumour",
];
const TYPES: [&str; 3] = ["Disease", "Chemical", "Gene_or_gene_product"];

/// A sentence of vocabulary words with non-overlapping gold entities whose
/// texts occur once in it and start and end with neither `(`, `)`, `,`,
/// `.` nor `:`.
fn sentence_with_entities() -> impl Strategy<Value = Example> {
    (
        prop::collection::vec(prop::sample::select(VOCABULARY), 1..24),
        prop::collection::vec((0u8..3, 1usize..4, 0usize..TYPES.len()), 24),
    )
        .prop_map(|(tokens, marks)| {
            let text = tokens.join(" ");
            let mut starts = Vec::new(); // char offset of each token
            let mut at = 0;
            for token in &tokens {
                starts.push(at);
                at += token.chars().count() + 1;
            }
            let chars: Vec<char> = text.chars().collect();
            let occurrences =
                |mention: &[char]| chars.windows(mention.len()).filter(|w| *w == mention).count();
            let punctuation = ["(", ")", ",", ".", ":"];
            let mut entities = Vec::new();
            let mut i = 0;
            while i < tokens.len() {
                let (start_here, len, label) = marks[i];
                if start_here != 0 {
                    i += 1;
                    continue;
                }
                let last = (i + len).min(tokens.len()) - 1;
                let (start, end) = (starts[i], starts[last] + tokens[last].chars().count());
                let mention = &chars[start..end];
                if occurrences(mention) == 1
                    && !punctuation.contains(&tokens[i])
                    && !punctuation.contains(&tokens[last])
                {
                    entities.push(Entity {
                        start,
                        end,
                        label: TYPES[label].to_string(),
                        text: mention.iter().collect(),
                    });
                }
                i = last + 1;
            }
            Example {
                id: "p".into(),
                text,
                entities,
            }
        })
}

fn gold(example: &Example, label: Option<&str>) -> Vec<Span> {
    let mut spans: Vec<Span> = example
        .entities
        .iter()
        .filter(|e| label.is_none_or(|l| l == e.label))
        .map(|e| Span {
            start: e.start,
            end: e.end,
            label: e.label.clone(),
        })
        .collect();
    spans.sort();
    spans
}

proptest! {
    #[test]
    fn every_format_reads_back_what_it_renders(example in sentence_with_entities()) {
        let ctx = Context::new(TYPES);
        for &format in PromptFormat::ALL {
            let style = format.style();
            let mut union = Parsed::default();
            for pass in style.passes(&ctx.types) {
                let answer = style.render_answer(&example, &pass);
                let parsed = style.parse(&answer, &example.text, &pass, &ctx);
                let expected = Parsed { spans: gold(&example, pass.label.as_deref()), ..Parsed::default() };
                prop_assert_eq!(&parsed, &expected, "{} answer {:?}", format.name(), answer);
                union.merge(parsed);
            }
            prop_assert_eq!(union.spans, gold(&example, None), "{}", format.name());
        }
    }

    #[test]
    fn truncation_keeps_the_most_similar_that_fit(
        lengths in prop::collection::vec(1usize..12, 0..10),
        max in 0usize..120,
    ) {
        // A counter adding one token per call, as a tokenizer adding a
        // start token does: the pieces' sum overestimates the whole.
        let count = |text: &str| words(text) + 1;
        let demos: Vec<Example> = lengths
            .iter()
            .enumerate()
            .map(|(i, &n)| example(&i.to_string(), &vec![format!("w{i}"); n].join(" "), &[]))
            .collect();
        let ctx = Context::new(["Disease"]);
        let pass = Pass::all();
        let prompt = build(&list::List, &pass, &ctx, &demos, "the query", Some(&budget(max, &count, &[])));
        let dropped = prompt.dropped;
        prop_assert_eq!(prompt.shots.len(), demos.len() - dropped);
        let rest = build(&list::List, &pass, &ctx, &demos[dropped..], "the query", None);
        prop_assert_eq!(&prompt.shots, &rest.shots);
        if dropped < demos.len() {
            prop_assert!(count(&prompt.completion_text()) <= max);
        }
        if dropped > 0 {
            let one_more = build(&list::List, &pass, &ctx, &demos[dropped - 1..], "the query", None);
            prop_assert!(count(&one_more.completion_text()) > max);
        }
    }
}
