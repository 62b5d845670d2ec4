//! Images while they are read. Neither Jira format can embed an image that
//! was not uploaded first, so both converters collect an image's alt text
//! and write a link to its target instead.

use crate::mapping::text::strip_control;

/// An open image: its target, free of control characters, and the alt text
/// read so far.
pub(super) struct Image {
    /// The image's target URL.
    pub(super) url: String,
    /// Alt text collected so far, as plain text.
    pub(super) alt: String,
}

impl Image {
    /// An image just opened with target `dest_url`, with no alt text yet.
    pub(super) fn open(dest_url: &str) -> Self {
        Self {
            url: strip_control(dest_url),
            alt: String::new(),
        }
    }
}

/// Closes the innermost of the `open` images. An image inside another only
/// adds its alt text to the outer one, so the image is returned only when it
/// was the outermost; `None` also when no image was open.
pub(super) fn close(open: &mut Vec<Image>) -> Option<Image> {
    let image = open.pop()?;
    match open.last_mut() {
        Some(outer) => {
            outer.alt.push_str(&image.alt);
            None
        }
        None => Some(image),
    }
}
