//! Every signature of the shipped knowledge base matches each of its
//! `examples` and none of its `counter_examples` (what `rules check` also
//! reports): a pattern that misses its own example is dead or shadowed.

use mailtriage::engine::facts::matches;
use mailtriage::evidence::Evidence;
use mailtriage::kb::KnowledgeBase;

#[test]
fn every_signature_matches_its_examples_and_not_its_counter_examples() {
    let kb = KnowledgeBase::embedded().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for sig in &kb.signatures {
        for example in &sig.def.examples {
            checked += 1;
            if matches(&sig.matcher, &Evidence::from_text(example), None).is_none() {
                failures.push(format!(
                    "{} ({}): misses example {example:?}",
                    sig.def.id, sig.at
                ));
            }
        }
        for counter in &sig.def.counter_examples {
            checked += 1;
            if matches(&sig.matcher, &Evidence::from_text(counter), None).is_some() {
                failures.push(format!(
                    "{} ({}): matches counter-example {counter:?}",
                    sig.def.id, sig.at
                ));
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} examples in the knowledge base"
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} examples wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
