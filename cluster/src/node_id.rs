//! `NodeId`: 40 lower-case hex characters, as Redis Cluster node ids are.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const NODE_ID_LEN: usize = 40;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId([u8; NODE_ID_LEN]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a node id is 40 hex characters")]
pub struct InvalidNodeId;

impl NodeId {
    /// A fresh random id (160 random bits).
    pub fn random() -> NodeId {
        let mut id = [0u8; NODE_ID_LEN];
        for byte in id.iter_mut() {
            *byte = b"0123456789abcdef"[rand::random::<u8>() as usize % 16];
        }
        NodeId(id)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("node ids are ASCII hex")
    }

    pub fn parse(bytes: &[u8]) -> Result<NodeId, InvalidNodeId> {
        if bytes.len() != NODE_ID_LEN || !bytes.iter().all(u8::is_ascii_hexdigit) {
            return Err(InvalidNodeId);
        }
        let mut id = [0u8; NODE_ID_LEN];
        for (target, source) in id.iter_mut().zip(bytes) {
            *target = source.to_ascii_lowercase();
        }
        Ok(NodeId(id))
    }
}

impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<NodeId, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for NodeId {
    type Err = InvalidNodeId;
    fn from_str(text: &str) -> Result<NodeId, InvalidNodeId> {
        NodeId::parse(text.as_bytes())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "NodeId({})", &self.as_str()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_forty_hex_characters() {
        let id = NodeId::random();
        assert_eq!(id.as_str().len(), 40);
        assert_eq!(id.as_str().parse::<NodeId>(), Ok(id));
        assert_eq!(
            NodeId::parse(b"ABCDEF0123456789abcdef0123456789abcdef01")
                .unwrap()
                .as_str(),
            "abcdef0123456789abcdef0123456789abcdef01"
        );
        assert_eq!(NodeId::parse(b"xyz"), Err(InvalidNodeId));
        assert_eq!(NodeId::parse(&[b'g'; 40]), Err(InvalidNodeId));
    }
}
