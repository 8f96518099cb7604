//! Danish labels for every enum value: each object also has `…Label` fields, and
//! `enumLabels` (see `label_query`) lists them all so a client can build its own menus.
//! Every domain module uses this one, so it uses none of them.
use async_graphql::SimpleObject;

/// An API enum mirroring a database enum, with a Danish label for each value.
/// `labelled_enum!(Name = "entity::path::Remote" { Variant => "label", … })`
macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident = $remote:literal { $($(#[$vmeta:meta])* $variant:ident => $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[graphql(remote = $remote)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        $crate::labels::enum_labels!($name { $($variant => $label),+ });
    };
}
pub(crate) use labelled_enum;

/// Danish labels for an enum: its `label()` and its entry in `enumLabels`.
/// `enum_labels!(Name { Variant => "label", … })`, or `enum_labels!(Name as "GraphQLName" { … })`
/// for an enum whose GraphQL name is not its Rust name. The enum must be `Copy`.
macro_rules! enum_labels {
    ($name:ident { $($variant:ident => $label:literal),+ $(,)? }) => {
        $crate::labels::enum_labels!(@impl $name, stringify!($name), { $($variant => $label),+ });
    };
    ($name:ident as $graphql_name:literal { $($variant:ident => $label:literal),+ $(,)? }) => {
        $crate::labels::enum_labels!(@impl $name, $graphql_name, { $($variant => $label),+ });
    };
    (@impl $name:ident, $graphql_name:expr, { $($variant:ident => $label:literal),+ }) => {
        impl $name {
            /// The Danish label shown to users.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }
        }

        impl $crate::labels::Labelled for $name {
            fn labels() -> $crate::labels::EnumLabels {
                use async_graphql::resolver_utils::EnumType;
                $crate::labels::EnumLabels {
                    name: $graphql_name,
                    values: <$name as EnumType>::items()
                        .iter()
                        .map(|item| $crate::labels::ValueLabel {
                            value: item.name,
                            label: item.value.label(),
                        })
                        .collect(),
                }
            }
        }
    };
}
pub(crate) use enum_labels;

pub trait Labelled {
    fn labels() -> EnumLabels;
}

/// The Danish labels of one enum's values.
#[derive(SimpleObject, Clone)]
pub struct EnumLabels {
    /// The enum's name in this schema, e.g. `ActionStatus`.
    pub name: &'static str,
    pub values: Vec<ValueLabel>,
}

/// One value of an enum and its Danish label.
#[derive(SimpleObject, Clone)]
pub struct ValueLabel {
    /// The enum value as sent over the API, e.g. `IN_PROGRESS`.
    pub value: &'static str,
    /// Its Danish label, e.g. "I gang".
    pub label: &'static str,
}
