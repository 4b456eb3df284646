//! [`Shared`]: a large part of a job record, shared by the copies of the record.
//!
//! The registry holds each job and its runner a copy that it changes and saves; every copy
//! of a 300,000-tablet restore duplicated its job info and its tablet list. A `Shared` part
//! is copied only when one holder changes it while another still has it.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Stored and compared as the value it holds.
#[derive(Clone, Default, PartialEq)]
pub struct Shared<T>(Arc<T>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Shared(Arc::new(value))
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Shared::new(value)
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Changing a part another holder still shares copies it first (copy on write).
impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Shared::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_share_until_one_changes() {
        let a = Shared::new(vec![1, 2, 3]);
        let mut b = a.clone();
        assert!(std::ptr::eq(&*a, &*b), "a copy shares the value");
        b.push(4);
        assert_eq!((&*a, &*b), (&vec![1, 2, 3], &vec![1, 2, 3, 4]), "a change copies it first");
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, "[1,2,3,4]");
        assert_eq!(serde_json::from_str::<Shared<Vec<i32>>>(&json).unwrap(), b);
    }
}
