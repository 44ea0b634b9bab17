//! A second reader for the rest of a snapshot's List, on a thread that has finished its own
//! work. The desired state is read while the snapshot loads, and is done first: its thread then
//! reads the second half of what the snapshot's reader has left, from a point between two items,
//! and hands the items over.
//!
//! The point is a guess (a `,` followed by the whitespace that stood before the first item, and
//! `{`), checked by the reader in charge: it takes the helper's items only if it stands at an
//! item of the List at exactly that byte, so everything before was read by it, and everything
//! after (up to the List's `]`) by the helper, item by item with the same code; standing there
//! before the helper is done, it waits. Anything else (the guess was inside an item, the reader
//! was past it already, the helper met an error) and the reader goes on alone, and reads what
//! the helper would have read: the result, errors and their lines included, is the one
//! reader's.

use super::lean::{read_items_from, Part};
use super::Keep;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// Below this many bytes left, a second reader would not pay for itself.
const MIN_LEFT: u64 = 2 << 20;
/// How far past the middle of what is left a point between items is looked for.
const WINDOW: usize = 64 << 10;

/// Shared by the reader of a snapshot and a thread that may help it ([`TailHelp::lend`]).
#[derive(Default)]
pub struct TailHelp {
    /// Where the reader stands (its latest item's first byte).
    progress: AtomicU64,
    /// Where the helper started, `u64::MAX` while it has not.
    claimed: AtomicU64,
    /// The reader is past needing help (done, failed, or past the helper's start).
    closed: AtomicBool,
    state: Mutex<State>,
    finished: Condvar,
    /// The reader took a helper's items.
    #[cfg(test)]
    handed_over: AtomicBool,
}

#[derive(Default)]
struct State {
    offer: Option<Offer>,
    /// The helper's items once it is done; `Some(None)` when it gave up.
    result: Option<Option<Part>>,
}

/// What the reader in charge offers: the rest of a List's items in a file.
#[derive(Clone)]
pub(super) struct Offer {
    pub path: PathBuf,
    pub len: u64,
    /// Nesting depth of the items (as the reader counts it).
    pub depth: usize,
    pub keep: Keep,
    /// The whitespace between the List's `[` and its first item.
    pub gap: Vec<u8>,
    pub source: Arc<str>,
}

impl TailHelp {
    pub fn new() -> Arc<TailHelp> {
        Arc::new(TailHelp {
            claimed: AtomicU64::new(u64::MAX),
            ..TailHelp::default()
        })
    }

    /// Called by the reader as it starts on a List's items.
    pub(super) fn offer(&self, offer: Offer) {
        if let Ok(mut s) = self.state.lock() {
            s.offer = Some(offer);
        }
    }

    /// Called by the reader at each item: the helper's items when it started at `at`.
    pub(super) fn at_item(&self, at: u64) -> Option<Part> {
        self.progress.store(at, Ordering::Relaxed);
        let claimed = self.claimed.load(Ordering::Acquire);
        if claimed > at || self.closed.load(Ordering::Relaxed) {
            return None;
        }
        if claimed < at {
            // Passed: the helper's start was not an item; it stops.
            self.close();
            return None;
        }
        // The helper started here: its items are the rest (it is not stopped: the reader waits).
        let r = {
            let mut s = self.state.lock().ok()?;
            loop {
                if let Some(r) = s.result.take() {
                    break r;
                }
                s = self.finished.wait(s).ok()?;
            }
        };
        self.close();
        #[cfg(test)]
        self.handed_over.store(r.is_some(), Ordering::Relaxed);
        r
    }

    /// The reader is done with the List (or failed): a helper not started yet stays out, one
    /// started stops at its next item.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        // Taken so that a helper deciding to start sees it (it claims under the lock).
        drop(self.state.lock());
    }

    /// Run by a thread with nothing else to do: reads the second half of what the reader has
    /// left, if there is enough of it, and hands the items over.
    pub fn lend(&self) {
        let Some((offer, file, start)) = self.claim() else {
            return;
        };
        // Whatever happens, the reader waiting at `start` gets an answer.
        struct Answer<'a>(&'a TailHelp, Option<Part>);
        impl Drop for Answer<'_> {
            fn drop(&mut self) {
                if let Ok(mut s) = self.0.state.lock() {
                    s.result = Some(self.1.take());
                }
                self.0.finished.notify_all();
            }
        }
        let mut answer = Answer(self, None);
        answer.1 = read_items_from(&offer, file, start, &self.closed);
    }

    /// Picks the helper's start and claims it; `None` when there is nothing to help with.
    fn claim(&self) -> Option<(Offer, std::fs::File, u64)> {
        let offer = self.state.lock().ok()?.offer.clone()?;
        let at = self.progress.load(Ordering::Relaxed);
        let left = offer.len.checked_sub(at)?;
        if left < MIN_LEFT || self.closed.load(Ordering::Relaxed) {
            return None;
        }
        let mut file = std::fs::File::open(&offer.path).ok()?;
        let start = point_between_items(&mut file, &offer.gap, at + left / 2)?;
        let s = self.state.lock().ok()?;
        if self.closed.load(Ordering::Relaxed) || self.progress.load(Ordering::Relaxed) >= start {
            return None;
        }
        self.claimed.store(start, Ordering::Release);
        drop(s);
        Some((offer, file, start))
    }
}

/// The first `{` at or after `from` that follows `,` and `gap`, the whitespace the first item
/// followed.
fn point_between_items(file: &mut std::fs::File, gap: &[u8], from: u64) -> Option<u64> {
    file.seek(SeekFrom::Start(from)).ok()?;
    let mut window = Vec::with_capacity(WINDOW);
    file.take(WINDOW as u64).read_to_end(&mut window).ok()?;
    let mut needle = Vec::with_capacity(gap.len() + 2);
    needle.push(b',');
    needle.extend_from_slice(gap);
    needle.push(b'{');
    let i = memchr::memmem::find(&window, &needle)?;
    Some(from + (i + needle.len() - 1) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::lean::{parse_json_objects, parse_json_objects_helped, Helped};
    use crate::live::LiveObject;
    use serde_yaml::Value;

    /// A List as kubectl prints it (indented, an item a few lines apart), of varied items.
    fn list(n: usize) -> String {
        let items: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                let mut o = serde_json::json!({
                    "apiVersion": if i % 3 == 0 { "apps/v1" } else { "v1" },
                    "kind": if i % 3 == 0 { "Deployment" } else { "ConfigMap" },
                    "metadata": {
                        "name": format!("o-{i}"),
                        "namespace": "ns",
                        "uid": format!("u-{i}"),
                        "labels": {"kapp.k14s.io/app": "1", "n": i.to_string()},
                        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {}}}],
                    },
                    "status": {"replicas": i},
                });
                if i % 3 == 0 {
                    o["spec"] = serde_json::json!({"replicas": i, "template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "args": ["--x", "é\n\"q\""]}]}}});
                } else {
                    o["data"] = serde_json::json!({"k": format!("line\n{i}"), "e": ""});
                }
                o
            })
            .collect();
        serde_json::to_string_pretty(&serde_json::json!({
            "apiVersion": "v1",
            "items": items,
            "kind": "List",
            "metadata": {"resourceVersion": ""},
        }))
        .unwrap()
    }

    /// The objects built whole (where repeated keys in a kept part are found).
    fn values(objects: Vec<LiveObject>) -> Result<Vec<Value>, String> {
        objects
            .into_iter()
            .map(|o| o.into_value().map_err(|e| format!("{e:#}")))
            .collect()
    }

    /// One reader's result: the objects, or the error's message.
    fn alone(text: &str) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        parse_json_objects(text.as_bytes(), &"s.json", Keep::Compared, &mut out)
            .map_err(|e| format!("{e:#}"))?;
        values(out)
    }

    /// The result when a helper read from byte `start` (as `lend` would have, had it guessed
    /// `start`), handed over before the reader starts.
    fn helped(text: &str, start: u64) -> Result<Vec<Value>, String> {
        helped_taken(text, start, false).0
    }

    /// [`helped`], and whether the reader took the helper's items; `from_file`: the reader
    /// reads the file, as a snapshot's does (and moves it on past the helper's part).
    fn helped_taken(text: &str, start: u64, from_file: bool) -> (Result<Vec<Value>, String>, bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, text).unwrap();
        let help = TailHelp::new();
        let gap_at = text.find('[').unwrap() + 1;
        let gap = text[gap_at..].find('{').unwrap();
        let offer = Offer {
            path: path.clone(),
            len: text.len() as u64,
            depth: 2,
            keep: Keep::Compared,
            gap: text.as_bytes()[gap_at..gap_at + gap].to_vec(),
            source: Arc::from("s.json"),
        };
        let file = std::fs::File::open(&path).unwrap();
        let part = read_items_from(&offer, file, start, &AtomicBool::new(false));
        let read = part.is_some();
        help.claimed.store(start, Ordering::Release);
        help.state.lock().unwrap().result = Some(part);
        let mut out = Vec::new();
        let file = std::fs::File::open(&path).unwrap();
        let helped = Helped {
            help: Arc::clone(&help),
            path,
            len: text.len() as u64,
            file: Some(file.try_clone().unwrap()),
        };
        let r = if from_file {
            parse_json_objects_helped(file, &"s.json", Keep::Compared, &mut out, Some(helped))
        } else {
            let helped = Helped {
                file: None,
                ..helped
            };
            parse_json_objects_helped(
                text.as_bytes(),
                &"s.json",
                Keep::Compared,
                &mut out,
                Some(helped),
            )
        }
        .map_err(|e| format!("{e:#}"));
        let taken = read && help.handed_over.load(Ordering::Relaxed);
        (r.and_then(|()| values(out)), taken)
    }

    /// Every `{` after a `,` (items, and things inside items), and bytes that start nothing.
    fn guesses(text: &str) -> Vec<u64> {
        let b = text.as_bytes();
        let mut at: Vec<u64> = (1..b.len())
            .filter(|&i| {
                b[i] == b'{'
                    && b[..i].iter().rev().find(|c| !c.is_ascii_whitespace()) == Some(&b',')
            })
            .map(|i| i as u64)
            .collect();
        at.extend([0, 1, 17, b.len() as u64 / 2, b.len() as u64 - 3]);
        at
    }

    #[test]
    fn a_helper_from_any_point_leaves_the_result_as_one_reader_gives_it() {
        let text = list(40);
        let want = alone(&text).unwrap();
        assert_eq!(want.len(), 40);
        let guesses = guesses(&text);
        assert!(
            guesses.len() > 50,
            "items and nested objects: {}",
            guesses.len()
        );
        let mut taken = 0;
        for start in guesses {
            let (got, took) = helped_taken(&text, start, false);
            assert_eq!(got, Ok(want.clone()), "helper from byte {start}");
            taken += usize::from(took);
        }
        // Every item but the first (no `,` before it) was a start whose items were taken.
        assert_eq!(taken, 39);
    }

    #[test]
    fn a_reader_moves_its_file_on_past_a_helpers_part() {
        // Larger than the reader's buffer: the helper's part ends past what it holds.
        let text = list(1500);
        assert!(text.len() > 3 * (256 << 10), "{}", text.len());
        let want = alone(&text).unwrap();
        let starts: Vec<u64> = guesses(&text)
            .into_iter()
            .filter(|&g| text[..g as usize].ends_with("\n    },\n    "))
            .collect();
        assert_eq!(starts.len(), 1499);
        for start in [starts[3], starts[700], starts[1400]] {
            for from_file in [true, false] {
                let (got, took) = helped_taken(&text, start, from_file);
                assert!(took, "helper from byte {start}");
                assert_eq!(got, Ok(want.clone()), "helper from byte {start}");
            }
        }
        // Broken after the List's items: the error's line and column are counted past it.
        let broken = format!("{text}\n  garbage");
        let want = alone(&broken).unwrap_err();
        assert_eq!(helped_taken(&broken, starts[700], true).0, Err(want));
    }

    #[test]
    fn errors_and_their_places_are_one_readers_wherever_the_helper_started() {
        let text = list(12);
        let items_end = text.rfind(']').unwrap();
        let broken = [
            // In the items a helper reads.
            text.replacen("\"o-10\"", "\"o-10\" x", 1),
            // After the List's items: lines and columns counted past what the helper read.
            format!(
                "{}, \"kind\": 1 2{}",
                &text[..items_end + 1],
                &text[items_end + 1..]
            ),
            format!("{text}\n  garbage"),
            // A repeated key inside an item the helper reads.
            text.replacen("\"e\": \"\"", "\"e\": \"\", \"e\": 1", 1),
        ];
        for text in broken {
            let want = alone(&text).unwrap_err();
            assert!(want.starts_with("s.json:"), "{want}");
            for start in guesses(&text) {
                assert_eq!(
                    helped(&text, start),
                    Err(want.clone()),
                    "helper from byte {start}"
                );
            }
        }
    }

    #[test]
    fn a_helper_on_another_thread_reads_part_of_a_large_list() {
        let text = list(8000);
        assert!(text.len() as u64 > 2 * MIN_LEFT, "{}", text.len());
        let want = alone(&text).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, &text).unwrap();
        let mut helped_once = false;
        for _ in 0..5 {
            let help = TailHelp::new();
            let h = Arc::clone(&help);
            // The helper asks once the reader is on its way, as the diff's would.
            let helper = std::thread::spawn(move || {
                while h.progress.load(Ordering::Relaxed) == 0 && !h.closed.load(Ordering::Relaxed) {
                    std::thread::yield_now();
                }
                h.lend();
            });
            let s = crate::live::Snapshot::load_helped(
                &path,
                crate::yaml::Limits::default(),
                Keep::Compared,
                Some(Arc::clone(&help)),
            )
            .unwrap();
            helper.join().unwrap();
            helped_once |= help.handed_over.load(Ordering::Relaxed);
            assert_eq!(s.into_objects().unwrap(), want);
        }
        assert!(helped_once, "the helper never had its items taken");
    }
}
