//! The list value. Placeholder layout: the list family replaces it with
//! its compact and indexed encodings.

use serde::{Deserialize, Serialize};

use super::small_bytes::SmallBytes;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ListValue {
    elements: Vec<SmallBytes>,
}

impl ListValue {
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        "listpack"
    }

    /// Heap bytes owned beyond the value's box.
    pub fn heap_size_bytes(&self) -> usize {
        self.elements.iter().map(|element| 24 + element.heap_size_bytes()).sum()
    }
}
