//! The files in docs/api are what the code generates: a client generated
//! from them talks to the gateway as it is.

#[test]
fn docs_api_matches_the_code() {
    let dir = food_contract::docs_dir();
    for (name, content) in food_contract::files() {
        let path = dir.join(name);
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == content,
            "docs/api/{name} is out of date with the code; regenerate it with\n\
             \tcargo run -p food-contract -- export\n\
             and review the diff (git diff docs/api)"
        );
    }
}
