//! State that higher layers derive from an opened index (the lexical index
//! of its sentences, a gazetteer of its mentions): built on first use, kept
//! with the index and dropped with it. The index cannot name those types (it
//! sits below them), so each kind is a slot keyed by its type.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Error, Result};

type Slot = Arc<Mutex<Option<Arc<dyn Any + Send + Sync>>>>;

/// One slot per derived type.
#[derive(Default)]
pub struct Derived(Mutex<HashMap<TypeId, Slot>>);

impl fmt::Debug for Derived {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds = self.0.lock().map_or(0, |slots| slots.len());
        write!(f, "Derived({kinds} kinds)")
    }
}

impl Derived {
    /// The `T` built by `build` on the first call, shared by every later one.
    /// Callers for the same type wait for one build; other types do not wait.
    /// A failed build is not kept: the next call tries again.
    pub fn get_or_build<T: Any + Send + Sync>(&self, build: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
        let slot = self.slot::<T>();
        let mut value = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if value.is_none() {
            *value = Some(Arc::new(build()?));
        }
        let any = value
            .clone()
            .ok_or_else(|| Error::Internal("derived state vanished".into()))?;
        any.downcast::<T>()
            .map_err(|_| Error::Internal("derived state of another type in a slot".into()))
    }

    fn slot<T: Any>(&self) -> Slot {
        let mut slots = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry(TypeId::of::<T>()).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn builds_once_per_type_and_retries_after_a_failure() {
        let derived = Derived::default();
        let builds = AtomicUsize::new(0);
        let failed: Result<Arc<String>> = derived.get_or_build(|| Err(Error::Internal("no".into())));
        assert!(failed.is_err());
        for _ in 0..3 {
            let text = derived
                .get_or_build(|| {
                    builds.fetch_add(1, Ordering::Relaxed);
                    Ok(String::from("built"))
                })
                .unwrap();
            assert_eq!(*text, "built");
        }
        assert_eq!(builds.load(Ordering::Relaxed), 1);
        let number = derived.get_or_build(|| Ok(7_u32)).unwrap();
        assert_eq!(*number, 7);
    }
}
