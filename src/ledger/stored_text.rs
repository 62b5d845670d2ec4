//! Enums the stores keep as text: one table per enum gives both directions, so the text
//! written and the text accepted cannot drift apart.

/// Implements `ALL`, `as_str` (the stored text) and `FromStr` (anything else is
/// [`LedgerError::Corrupt`](super::LedgerError::Corrupt), naming `$what`) for `$ty`.
macro_rules! stored_text {
    ($ty:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored text form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::ledger::error::LedgerError;

            /// Parses the stored text form; anything else is a corrupt row.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err($crate::ledger::error::LedgerError::Corrupt(format!(
                        concat!("unknown ", $what, " {:?}"),
                        other
                    ))),
                }
            }
        }
    };
}
pub(crate) use stored_text;
