//! The service dependency graph: who calls whom, as services declare it in
//! the trains-as-code file (`calls = ["ledger"]`). Pure. It names cycles
//! (refused at apply), orders a train's rollout so providers go before their
//! consumers, and tells which services a change reaches.

use std::collections::{BTreeMap, BTreeSet};

/// Edges from each service to the services it calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    calls: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    /// The graph of `(service, the services it calls)`.
    pub fn new<'a>(edges: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Self {
        let mut calls: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (service, callees) in edges {
            calls.entry(service.to_owned()).or_default().extend(callees.iter().cloned());
        }
        Self { calls }
    }

    /// The services `service` calls directly.
    pub fn callees(&self, service: &str) -> impl Iterator<Item = &str> {
        self.calls.get(service).into_iter().flatten().map(String::as_str)
    }

    /// A cycle, as the services along it with the first repeated at the end
    /// (`a → b → a`), if there is one. The first in name order is reported.
    pub fn cycle(&self) -> Option<Vec<String>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        fn visit<'g>(
            graph: &'g Graph,
            service: &'g str,
            marks: &mut BTreeMap<&'g str, Mark>,
            path: &mut Vec<&'g str>,
        ) -> Option<Vec<String>> {
            match marks.get(service) {
                Some(Mark::Done) => return None,
                Some(Mark::Open) => {
                    let start = path.iter().position(|s| *s == service).unwrap_or(0);
                    let mut cycle: Vec<String> = path[start..].iter().map(|s| (*s).to_owned()).collect();
                    cycle.push(service.to_owned());
                    return Some(cycle);
                }
                None => {}
            }
            marks.insert(service, Mark::Open);
            path.push(service);
            for callee in graph.callees(service) {
                if let Some(cycle) = visit(graph, callee, marks, path) {
                    return Some(cycle);
                }
            }
            path.pop();
            marks.insert(service, Mark::Done);
            None
        }
        let mut marks = BTreeMap::new();
        self.calls.keys().find_map(|service| visit(self, service, &mut marks, &mut Vec::new()))
    }

    /// `services` in rollout order: every service after the services it
    /// calls (directly or through services outside the list), ties by name.
    /// Services in a cycle keep name order among themselves.
    pub fn rollout_order<'s>(&self, services: &[&'s str]) -> Vec<&'s str> {
        let wanted: BTreeSet<&str> = services.iter().copied().collect();
        // Providers of each wanted service, among the wanted, through any path.
        let providers: BTreeMap<&str, BTreeSet<&str>> = services
            .iter()
            .map(|s| (*s, self.reached_from(s).into_iter().filter(|p| wanted.contains(p) && p != s).collect()))
            .collect();
        let mut order: Vec<&'s str> = Vec::new();
        let mut left: BTreeSet<&'s str> = services.iter().copied().collect();
        while !left.is_empty() {
            let ready: Vec<&'s str> = left
                .iter()
                .copied()
                .filter(|s| providers[s].iter().all(|p| !left.contains(p) || providers[p].contains(s)))
                .collect();
            let next = if ready.is_empty() { left.iter().copied().collect() } else { ready };
            for service in next {
                left.remove(service);
                order.push(service);
            }
        }
        order
    }

    /// Every service `service` calls, directly or not.
    fn reached_from<'g>(&'g self, service: &'g str) -> BTreeSet<&'g str> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![service];
        while let Some(next) = stack.pop() {
            for callee in self.callees(next) {
                if seen.insert(callee) {
                    stack.push(callee);
                }
            }
        }
        seen
    }

    /// The services a change to `service` reaches: those that call it,
    /// directly or through others, in name order.
    pub fn impact(&self, service: &str) -> Vec<String> {
        self.calls
            .keys()
            .filter(|caller| caller.as_str() != service && self.reached_from(caller).contains(service))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> Graph {
        let owned: Vec<(String, Vec<String>)> =
            edges.iter().map(|(s, calls)| ((*s).to_owned(), calls.iter().map(|c| (*c).to_owned()).collect())).collect();
        Graph::new(owned.iter().map(|(s, calls)| (s.as_str(), calls.as_slice())))
    }

    #[test]
    fn a_cycle_is_named_along_its_edges() {
        let g =
            graph(&[("checkout", &["wallet"]), ("wallet", &["ledger"]), ("ledger", &["checkout"]), ("search", &[])]);
        assert_eq!(g.cycle(), Some(vec!["checkout".into(), "wallet".into(), "ledger".into(), "checkout".into()]));
        assert_eq!(graph(&[("a", &["a"])]).cycle(), Some(vec!["a".into(), "a".into()]));
        let acyclic = graph(&[("checkout", &["wallet", "ledger"]), ("wallet", &["ledger"]), ("ledger", &[])]);
        assert_eq!(acyclic.cycle(), None);
    }

    #[test]
    fn providers_roll_out_before_their_consumers_even_through_services_off_the_train() {
        let g = graph(&[("checkout", &["wallet"]), ("wallet", &["fx"]), ("fx", &["ledger"]), ("ledger", &[])]);
        assert_eq!(g.rollout_order(&["checkout", "ledger", "wallet"]), vec!["ledger", "wallet", "checkout"]);
        // Unrelated services keep name order.
        assert_eq!(g.rollout_order(&["search", "checkout", "auth"]), vec!["auth", "checkout", "search"]);
    }

    #[test]
    fn a_change_reaches_every_service_that_calls_it_directly_or_not() {
        let g = graph(&[("checkout", &["wallet"]), ("wallet", &["ledger"]), ("reports", &["ledger"]), ("search", &[])]);
        assert_eq!(g.impact("ledger"), vec!["checkout", "reports", "wallet"]);
        assert_eq!(g.impact("checkout"), Vec::<String>::new());
    }
}
