//! The names of the datasets xbn reads, as the command line and config files spell them.

use std::fmt;
use std::str::FromStr;

use crate::DataError;

/// A dataset layout xbn can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Stanford Online Products (`sop`).
    Sop,
    /// In-Shop Clothes Retrieval (`inshop`).
    #[serde(rename = "inshop")]
    InShop,
    /// DeepFashion2 consumer-to-shop retrieval (`deepfashion2`).
    #[serde(rename = "deepfashion2")]
    DeepFashion2,
    /// CUB-200-2011 (`cub`).
    Cub,
    /// Cars196 (`cars`).
    Cars,
    /// A folder per class (`folder`).
    Folder,
    /// Fashion-MNIST in IDX format (`fashion-mnist`).
    FashionMnist,
    /// The built-in synthetic "product" dataset (`synthetic`).
    Synthetic,
    /// Texts in a folder per class, `root/<class>/<file>.txt` (`text-folder`).
    TextFolder,
    /// Texts with labels in a JSON Lines file (`jsonl`).
    Jsonl,
}

impl DatasetKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [DatasetKind; 10] = [
        DatasetKind::Sop,
        DatasetKind::InShop,
        DatasetKind::DeepFashion2,
        DatasetKind::Cub,
        DatasetKind::Cars,
        DatasetKind::Folder,
        DatasetKind::FashionMnist,
        DatasetKind::Synthetic,
        DatasetKind::TextFolder,
        DatasetKind::Jsonl,
    ];

    /// The command-line name (`sop`, `inshop`, `deepfashion2`, `cub`, `cars`, `folder`,
    /// `fashion-mnist`, `synthetic`, `text-folder`, `jsonl`).
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Sop => "sop",
            DatasetKind::InShop => "inshop",
            DatasetKind::DeepFashion2 => "deepfashion2",
            DatasetKind::Cub => "cub",
            DatasetKind::Cars => "cars",
            DatasetKind::Folder => "folder",
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::Synthetic => "synthetic",
            DatasetKind::TextFolder => "text-folder",
            DatasetKind::Jsonl => "jsonl",
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = DataError;

    /// Parses a command-line name (case-insensitive).
    ///
    /// ```
    /// use xbn_data::DatasetKind;
    /// assert_eq!("fashion-mnist".parse::<DatasetKind>().unwrap(), DatasetKind::FashionMnist);
    /// assert_eq!("text-folder".parse::<DatasetKind>().unwrap(), DatasetKind::TextFolder);
    /// assert!("imagenet".parse::<DatasetKind>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        DatasetKind::ALL
            .into_iter()
            .find(|k| k.name() == lower)
            .ok_or_else(|| {
                let names: Vec<&str> = DatasetKind::ALL.iter().map(|k| k.name()).collect();
                DataError::Config(format!(
                    "unknown dataset `{s}`; expected one of: {}",
                    names.join(", ")
                ))
            })
    }
}
